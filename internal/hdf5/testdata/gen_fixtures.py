#!/usr/bin/env python3
"""Generate the HDF5 fixtures for internal/hdf5 tests, with h5py's view of them.

Run from anywhere with Debian's python3-h5py and python3-numpy:
    /usr/bin/python3 internal/hdf5/testdata/gen_fixtures.py
It rewrites internal/hdf5/testdata/fixtures/*.h5 and expected.json. Every
expected value in expected.json is read back from the written files by h5py
(never computed by the Go code under test), so the Go tests compare our reader
against h5py's view. If /work/shared/weights/vgg16_imagenette_notop.h5 (or the
file named by $VGG16_NOTOP) exists, its names, shapes and sums are recorded too.
"""
import hashlib
import json
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
VGG = os.environ.get("VGG16_NOTOP", "/work/shared/weights/vgg16_imagenette_notop.h5")
rng = np.random.RandomState(20240601)


def weights(*shape, dtype=np.float32):
    return (rng.standard_normal(shape) * 0.1).astype(dtype)


def keras1_layout(f):
    """Keras-1-era ImageNet layout: fixed-length names, <layer>_W_1:0 datasets at depth 1."""
    layers = [("block1_conv1", (3, 3, 3, 4)), ("block1_conv2", (3, 3, 4, 4)), ("block1_pool", None),
              ("block2_conv1", (3, 3, 4, 8)), ("block2_pool", None)]
    f.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
    for name, kshape in layers:
        g = f.create_group(name)
        if kshape is None:
            g.attrs["weight_names"] = np.array([])  # what Keras writes for weightless layers: empty float64
            continue
        wn = [f"{name}_W_1:0", f"{name}_b_1:0"]
        g.attrs["weight_names"] = np.array([n.encode() for n in wn])
        g.create_dataset(wn[0], data=weights(*kshape))
        g.create_dataset(wn[1], data=weights(kshape[-1]))


def tfkeras_layout(f):
    """tf.keras 2.x model.save('x.h5'): model_weights/<layer>/<layer>/kernel:0, str (vlen) attributes."""
    f.attrs["backend"] = "tensorflow"  # Python str: variable-length string scalar
    f.attrs["keras_version"] = "2.11.0"
    f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "seq"}})
    mw = f.create_group("model_weights")
    layers = [("conv2d", [("kernel:0", (3, 3, 3, 4)), ("bias:0", (4,))]), ("max_pooling2d", []),
              ("dense", [("kernel:0", (16, 5)), ("bias:0", (5,))])]
    mw.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
    mw.attrs["backend"] = b"tensorflow"
    mw.attrs["keras_version"] = b"2.11.0"
    for name, ws in layers:
        g = mw.create_group(name)
        g.attrs["weight_names"] = np.array([f"{name}/{w}".encode() for w, _ in ws]) if ws else np.array([])
        for w, shape in ws:
            g.create_dataset(f"{name}/{w}", data=weights(*shape))
    # A vlen-string copy of the names, as some savers write them.
    mw.attrs.create("layer_names_vlen", [n for n, _ in layers], dtype=h5py.string_dtype())
    opt = f.create_group("optimizer_weights")
    opt.create_dataset("Adam/iter:0", data=np.int64(7))


def keras3_layout(f):
    """Keras 3 legacy .h5 (model.save('x.h5')): weight names are variable paths without ':0'."""
    f.attrs["backend"] = "tensorflow"
    f.attrs["keras_version"] = "3.3.3"
    mw = f.create_group("model_weights")
    mw.attrs["layer_names"] = np.array([b"conv2d", b"dense"])
    for name, shapes in [("conv2d", [(3, 3, 3, 2), (2,)]), ("dense", [(2, 3), (3,)])]:
        g = mw.create_group(name)
        wn = [f"sequential/{name}/kernel", f"sequential/{name}/bias"]
        g.attrs["weight_names"] = np.array([n.encode() for n in wn])
        for w, shape in zip(wn, shapes):
            g.create_dataset(w, data=weights(*shape))


def chunked(f, shuffle):
    f.attrs["layer_names"] = np.array([b"conv", b"dense"])
    g = f.create_group("conv")
    g.attrs["weight_names"] = np.array([b"conv_W_1:0", b"conv_b_1:0"])
    g.create_dataset("conv_W_1:0", data=weights(3, 3, 5, 7), chunks=(2, 3, 2, 4), compression="gzip",
                     compression_opts=6, shuffle=shuffle)
    g.create_dataset("conv_b_1:0", data=weights(7), chunks=(3,), compression="gzip", shuffle=shuffle)
    g = f.create_group("dense")
    g.attrs["weight_names"] = np.array([b"dense_W_1:0"])
    g.create_dataset("dense_W_1:0", data=weights(50, 33), chunks=(16, 16), compression="gzip", shuffle=shuffle,
                     fletcher32=shuffle)
    # Big enough for a multi-level version-1 B-tree chunk index (> 64 chunks with h5py's defaults).
    f.create_dataset("many_chunks", data=np.arange(300 * 7, dtype=np.float32).reshape(300, 7), chunks=(2, 7),
                     compression="gzip", shuffle=shuffle)
    # Chunks never written: read as the fill value.
    d = f.create_dataset("sparse", shape=(6, 4), dtype="f4", chunks=(2, 2), fillvalue=-1.5, compression="gzip")
    d[0:2, 2:4] = np.ones((2, 2), np.float32) * 3


def latest_chunked(f):
    """libver='latest': layout v4 chunk indexes (single chunk, fixed array, extensible array, B-tree v2)."""
    f.create_dataset("single", data=weights(4, 5), chunks=(4, 5), compression="gzip")
    f.create_dataset("single_plain", data=weights(3, 2), chunks=(3, 2))
    f.create_dataset("fixed", data=weights(9, 10), chunks=(4, 3), compression="gzip", shuffle=True)
    f.create_dataset("fixed_plain", data=weights(9, 10), chunks=(4, 3))
    f.create_dataset("fixed_paged", data=np.arange(3000, dtype=np.float32), chunks=(2,))
    f.create_dataset("earray", data=weights(10, 3), chunks=(3, 3), maxshape=(None, 3), compression="gzip")
    f.create_dataset("earray_plain", data=np.arange(500, dtype=np.float32), chunks=(1,), maxshape=(None,))
    f.create_dataset("btree2", data=weights(7, 6), chunks=(2, 2), maxshape=(None, None), compression="gzip")
    # Early allocation, no filters, fixed size: the implicit index (chunks back to back).
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((2, 3))
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    ds = h5py.h5d.create(f.id, b"implicit", h5py.h5t.IEEE_F32LE, h5py.h5s.create_simple((5, 7)), dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, weights(5, 7))
    f.create_dataset("btree2_plain", data=np.arange(40 * 30, dtype=np.float32).reshape(40, 30), chunks=(2, 2),
                     maxshape=(None, None))


def compact(f):
    space = h5py.h5s.create_simple((4, 3))
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    ds = h5py.h5d.create(f.id, b"compact_f4", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, weights(4, 3))
    space = h5py.h5s.create_simple((5,))
    ds = h5py.h5d.create(f.id, b"compact_i2", h5py.h5t.STD_I16BE, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([-3, 0, 7, 300, -32768], dtype=">i2"))


def types(f):
    f.create_dataset("f4_be", data=weights(3, 4).astype(">f4"))
    f.create_dataset("f8_le", data=weights(2, 3, dtype=np.float64))
    f.create_dataset("f8_be", data=weights(5, dtype=">f8"))
    f.create_dataset("f2", data=np.array([0.5, -2, 65504, 6e-8, 1e-5, 0], dtype="<f2"))
    for t in ["i1", "u1", "<i2", ">u2", "<i4", ">i4", "<u4", "<i8", ">i8", "<u8"]:
        info = np.iinfo(np.dtype(t))
        f.create_dataset("int_" + t.replace("<", "le_").replace(">", "be_"),
                         data=np.array([info.min, -1 if info.min < 0 else 1, 0, 5, info.max], dtype=t))
    f.create_dataset("scalar", data=np.float32(2.5))
    f.create_dataset("empty", shape=(0, 3), dtype="f4")
    f.create_dataset("fixed_str", data=np.array([b"ab", b"cde"]))
    a = f["f4_be"].attrs
    a["f8"] = np.array([1.5, -2.25])
    a["i4"] = np.int32(-42)
    a["u2_be"] = np.array([1, 65535], dtype=">u2")
    a["str_scalar"] = np.bytes_(b"hello")
    a["vlen_utf8"] = "h\u00e9llo"
    a["empty_f8"] = np.array([])


def vlen_attrs(f):
    g = f.create_group("layer")
    g.attrs.create("weight_names", ["layer/kernel:0", "layer/bias:0"], dtype=h5py.string_dtype())
    g.attrs["scalar_vlen"] = "a variable-length string"
    g.attrs.create("bytes_vlen", [b"x", b"yz", b""], dtype=h5py.string_dtype("ascii"))
    f.attrs["keras_version"] = "2.4.0"
    f.attrs.create("layer_names", ["layer"], dtype=h5py.string_dtype())
    g.create_dataset("layer/kernel:0", data=weights(2, 2))


def dense_attrs(f):
    # More than 8 attributes on a version-2 header go to dense storage (fractal heap + B-tree v2).
    g = f.create_group("many_attrs")
    for i in range(200):
        g.attrs[f"attr_{i:03d}"] = np.array([f"value {i}".encode()])
    g.attrs["number"] = np.float64(3.25)
    t = f.create_group("tracked", track_order=True)
    for i in range(12):
        t.attrs[f"z{i}"] = np.int64(i * i)
    # An attribute above 64 KiB needs dense storage (huge heap object).
    big = f.create_group("big_attr")
    big.attrs["weight_names"] = np.array([f"w{i:05d}_kernel:0".encode() for i in range(5000)])
    big.attrs["small"] = b"tiny"
    d = f.create_dataset("data_with_attrs", data=weights(3))
    for i in range(10):
        d.attrs[f"a{i}"] = i


def dense_links(f):
    # libver='latest': more than 8 links in a group go to dense storage.
    target = f.create_dataset("target", data=weights(4))
    g = f.create_group("many")
    for i in range(400):
        g[f"link_{i:04d}"] = target  # extra hard links to one dataset: cheap
    for i in range(3):
        g.create_group(f"sub_{i}")
    t = f.create_group("tracked", track_order=True)
    for i in range(20):
        t[f"t{19 - i:02d}"] = target
    small = f.create_group("compact_links")
    small.create_dataset("x", data=weights(2))
    small.create_group("y")


def unsupported(f):
    f.create_dataset("compound", data=np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    f.create_dataset("enum_bool", data=np.array([True, False]))
    f.create_dataset("lzf", data=weights(20), chunks=(5,), compression="lzf")
    f["soft"] = h5py.SoftLink("/compound")
    f["external"] = h5py.ExternalLink("other.h5", "/x")
    g = f.create_group("attrs")
    g.attrs["array_attr"] = np.zeros(2, dtype=[("a", "<f4")])
    f.create_dataset("vlen_seq", data=np.array([np.array([1, 2], "i4"), np.array([3], "i4")], dtype=object),
                     dtype=h5py.vlen_dtype(np.int32))


FIXTURES = [
    ("keras1_default.h5", {}, keras1_layout),
    ("keras1_latest.h5", {"libver": "latest"}, keras1_layout),
    ("keras1_v108.h5", {"libver": ("v108", "v108")}, keras1_layout),
    ("tfkeras_nested.h5", {}, tfkeras_layout),
    ("tfkeras_nested_latest.h5", {"libver": "latest"}, tfkeras_layout),
    ("keras3_legacy.h5", {}, keras3_layout),
    ("chunked_gzip.h5", {}, lambda f: chunked(f, False)),
    ("chunked_shuffle_gzip.h5", {}, lambda f: chunked(f, True)),
    ("latest_chunked.h5", {"libver": "latest"}, latest_chunked),
    ("compact.h5", {}, compact),
    ("types.h5", {}, types),
    ("vlen_attrs.h5", {}, vlen_attrs),
    ("dense_attrs.h5", {"libver": "latest"}, dense_attrs),
    ("dense_attrs_default.h5", {}, lambda f: dense_attrs_default(f)),
    ("dense_links.h5", {"libver": "latest"}, dense_links),
    ("unsupported.h5", {}, unsupported),
]


def dense_attrs_default(f):
    # Default libver: track_order forces a version-2 header, so many attributes go dense too.
    g = f.create_group("tracked", track_order=True)
    for i in range(30):
        g.attrs[f"k{i:02d}"] = np.array([i, i + 1], dtype="<i4")


# ---- h5py's view of a file, as JSON ----

def attr_view(v):
    arr = np.asarray(v)
    shape = list(arr.shape)
    if arr.dtype.kind in "SUO":
        vals = [x.decode("utf8") if isinstance(x, bytes) else str(x) for x in arr.ravel()]
        if len(vals) > 64:  # long lists: count, ends and an md5 of the newline-joined values
            digest = hashlib.md5("\n".join(vals).encode("utf8")).hexdigest()
            return {"kind": "str", "shape": shape, "head": vals[:3], "tail": vals[-3:], "md5": digest}
        return {"kind": "str", "shape": shape, "values": vals}
    if arr.dtype.kind in "iu":
        return {"kind": "int", "shape": shape, "values": [int(x) for x in arr.ravel()]}
    if arr.dtype.kind == "f":
        return {"kind": "float", "shape": shape, "values": [float(x) for x in arr.ravel()]}
    return {"kind": "other", "dtype": str(arr.dtype)}


def dtype_name(dt):
    if dt.kind == "S":
        return f"|S{dt.itemsize}"
    if dt.kind == "O":
        return "vlen str"
    order = ">" if dt.byteorder == ">" else "<"
    return f"{order}{dt.kind}{dt.itemsize}"


def view(path):
    groups, datasets, unsupported_paths = {}, {}, {}
    first_path = {}  # object address -> first path seen (hard links to one object)

    def attrs_of(obj, name):
        out = {}
        for k in obj.attrs.keys():
            try:
                out[k] = attr_view(obj.attrs[k])
            except Exception:
                out[k] = {"kind": "other"}
        return out

    def visit(name, obj):
        p = "/" + name if name else "/"
        if isinstance(obj, h5py.Group):
            groups[p] = {"members": sorted(obj.keys()), "attrs": attrs_of(obj, p)}
            for k in obj.keys():
                link = obj.get(k, getlink=True)
                child = p.rstrip("/") + "/" + k
                if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                    unsupported_paths[child] = type(link).__name__
                    continue
                visit(child[1:], obj[k])
            return
        addr = h5py.h5o.get_info(obj.id).addr
        if addr in first_path:
            datasets[p] = {"same_as": first_path[addr]}
            return
        first_path[addr] = p
        dt = obj.dtype
        if dt.kind not in "fiuS":
            unsupported_paths[p] = str(dt)
            return
        try:
            v = obj[()]
        except Exception as e:  # e.g. filter not available
            unsupported_paths[p] = str(e)
            return
        if dt.kind in "fiu" and obj.compression not in (None, "gzip"):
            unsupported_paths[p] = obj.compression
            return
        entry = {"shape": list(obj.shape), "dtype": dtype_name(dt), "attrs": attrs_of(obj, p),
                 "layout": obj.id.get_create_plist().get_layout(), "chunks": list(obj.chunks or []),
                 "filters": [obj.compression or "", bool(obj.shuffle), bool(obj.fletcher32)]}
        if dt.kind == "S":
            entry["strings"] = [x.decode() for x in np.asarray(v).ravel()]
        else:
            flat = np.asarray(v).ravel()
            entry["sum"] = float(flat.astype(np.float64).sum())
            entry["first"] = [float(x) for x in flat[:6]]
            if flat.size <= 64:
                entry["values"] = [float(x) for x in flat]
        datasets[p] = entry

    with h5py.File(path, "r") as f:
        visit("", f)
        info = {"superblock": f.id.get_create_plist().get_version()[0], "libver": list(f.libver)}
    return {"groups": groups, "datasets": datasets, "unsupported": unsupported_paths, "info": info}


def vgg_view(path):
    out = {"path": path, "size": os.path.getsize(path)}
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        out["layer_names"] = names
        layers = {}
        for n in names:
            g = f[n]
            wn = [w.decode() for w in g.attrs["weight_names"]]
            layers[n] = {"weight_names": wn, "shapes": [list(g[w].shape) for w in wn],
                         "sums": [float(g[w][()].astype(np.float64).sum()) for w in wn]}
        out["layers"] = layers
        k = f["block1_conv1/block1_conv1_W_1:0"][()]
        out["block1_conv1_W"] = {"first": [float(x) for x in k.ravel()[:8]],
                                 "at_2_1_0_63": float(k[2, 1, 0, 63]), "at_0_2_1_17": float(k[0, 2, 1, 17])}
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"h5py": h5py.version.version, "hdf5": h5py.version.hdf5_version, "files": {}}
    for name, kw, build in FIXTURES:
        path = os.path.join(OUT, name)
        with h5py.File(path, "w", **kw) as f:
            build(f)
        expected["files"][name] = view(path)
    # A truncated copy: h5py cannot read it either.
    src = open(os.path.join(OUT, "keras1_default.h5"), "rb").read()
    cut = len(src) * 2 // 3
    with open(os.path.join(OUT, "truncated.h5"), "wb") as fh:
        fh.write(src[:cut])
    try:
        with h5py.File(os.path.join(OUT, "truncated.h5"), "r") as f:
            f.visititems(lambda n, o: o[()] if isinstance(o, h5py.Dataset) else None)
        h5py_ok = True
    except Exception:
        h5py_ok = False
    expected["truncated"] = {"file": "truncated.h5", "bytes": cut, "of": len(src), "h5py_reads_it": h5py_ok}
    if os.path.exists(VGG):
        expected["vgg16_notop"] = vgg_view(VGG)
    with open(os.path.join(HERE, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1, sort_keys=True)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(FIXTURES) + 1} fixtures ({total} bytes) and expected.json", file=sys.stderr)


if __name__ == "__main__":
    main()
