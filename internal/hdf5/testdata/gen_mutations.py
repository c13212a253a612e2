#!/usr/bin/python3
"""Make a corpus of mutated Keras weight files and record h5py's verdict on each.

Usage (Debian's python3 with python3-h5py python3-numpy):
  /usr/bin/python3 internal/hdf5/testdata/gen_mutations.py              # writes testdata/mutations.json
  /usr/bin/python3 internal/hdf5/testdata/gen_mutations.py --out DIR    # also writes every mutated file to DIR

Bases are small h5py-written Keras weight files from vgg/testdata (a tf.keras
full-model save with version-1 headers, a libver='latest' save with gzip
chunks and checksummed version-2 headers, a Keras 3 legacy .h5). Mutations,
drawn from a fixed seed:
  flip      one bit of a metadata byte (metadata = every byte outside raw data,
            which h5py's chunk/offset queries locate)
  trunc     the file cut at an offset
  dims      one dimension of a dataset's dataspace set to a huge or wrong value
  cycle     a version-1 B-tree node made an internal node whose child is itself
  checksum  a byte of a checksummed structure (OHDR, superblock v2/3) changed
  dtype     one field of a float32 datatype message changed (byte order,
            normalization, sign/exponent/mantissa location or size, bias,
            precision, offset, size, class)
Each mutation is a list of (offset, new bytes) writes and an optional
truncation, so the Go test (hostile_test.go) re-applies it to the base file;
the committed JSON is small and `go test` needs no Python.

h5py is the oracle. A mutated file is opened in a child process (libhdf5 may
crash on hostile input) and read the way Keras's legacy loader reads it:
layer_names, each layer's weight_names, each weight read whole. The verdict is
"ok" with a digest of every weight (name, shape, float32 values; NaN
canonical), the same digest hdf5.KerasDigest computes, or "error" with
h5py's message.
"""
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
VGGDATA = os.path.join(HERE, "..", "..", "..", "vgg", "testdata")
BASES = ["vgg16_notop_w16_tfkeras.h5", "vgg16_notop_w16_gzip_latest.h5", "vgg16_notop_w16_keras3.h5"]
SEED = 15


def strings(attr):
    if attr is None:
        return []
    out = []
    for v in np.asarray(attr).ravel():
        out.append(v.decode() if isinstance(v, bytes) else str(v))
    return out


def keras_digest(path):
    """Digest of every weight as Keras reads them; mirrors hdf5.KerasDigest."""
    h = hashlib.sha256()
    n = 0
    with h5py.File(path, "r") as f:
        root = f
        if "layer_names" not in f.attrs:
            root = f["model_weights"]
        for layer in strings(root.attrs["layer_names"]):
            g = root[layer]
            if "weight_names" not in g.attrs:
                continue
            wn = g.attrs["weight_names"]
            if np.asarray(wn).size == 0:
                continue
            for w in strings(wn):
                a = np.asarray(g[w][()], dtype="<f4")
                bits = a.ravel().view("<u4").copy()
                bits[np.isnan(a.ravel())] = 0x7FC00000
                h.update(("%s/%s [%s]\n" % (layer, w, " ".join(str(d) for d in a.shape))).encode())
                h.update(bits.astype("<u4").tobytes())
                n += 1
    return h.hexdigest(), n


def data_ranges(path):
    """Byte ranges of raw data (contiguous storage and chunks) in the file."""
    out = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            dsid = obj.id
            if obj.chunks is None:
                off = dsid.get_offset()
                if off is not None:
                    out.append((off, off + dsid.get_storage_size()))
            else:
                for i in range(dsid.get_num_chunks()):
                    info = dsid.get_chunk_info(i)
                    out.append((info.byte_offset, info.byte_offset + info.size))
        f.visititems(visit)
    return sorted(out)


def metadata_offsets(size, ranges):
    inside = bytearray(size)
    for a, b in ranges:
        inside[a:b] = b"\x01" * (b - a)
    return [i for i in range(size) if not inside[i]]


def dataset_dims(path, data):
    """(offset of the dims of each dataset's dataspace message, rank): the dims
    as 8-byte little-endian values, found by searching the bytes for them."""
    found = []
    with h5py.File(path, "r") as f:
        shapes = []
        f.visititems(lambda n, o: shapes.append(o.shape) if isinstance(o, h5py.Dataset) and o.ndim > 0 else None)
    for shape in sorted(set(shapes)):
        pat = b"".join(struct.pack("<Q", d) for d in shape)
        start = 0
        while True:
            i = data.find(pat, start)
            if i < 0:
                break
            found.append((i, shape))
            start = i + 1
    return found


def float_types(data):
    """Offsets of float32 datatype messages (class 1, version 1, little-endian IEEE)."""
    pat = bytes([0x11, 0x20, 0x1F, 0x00]) + struct.pack("<I", 4) + struct.pack("<HH", 0, 32) + bytes([23, 8, 0, 23]) + struct.pack("<I", 127)
    out, start = [], 0
    while True:
        i = data.find(pat, start)
        if i < 0:
            return out
        out.append(i)
        start = i + 1


def signatures(data, sig):
    out, start = [], 0
    while True:
        i = data.find(sig, start)
        if i < 0:
            return out
        out.append(i)
        start = i + 1


def mutations(base, data, rng):
    path = os.path.join(VGGDATA, base)
    size = len(data)
    meta = metadata_offsets(size, data_ranges(path))
    muts = []

    def add(kind, writes=(), truncate=-1):
        muts.append({"base": base, "kind": kind, "writes": [[o, b.hex()] for o, b in writes], "truncate": truncate})

    for _ in range(110):
        o = rng.choice(meta)
        add("flip", [(o, bytes([data[o] ^ (1 << rng.randrange(8))]))])
    for _ in range(25):
        add("trunc", truncate=rng.randrange(size))
    for o in sorted(rng.sample(meta, 5)):
        add("trunc", truncate=o)  # cuts inside metadata
    dims = dataset_dims(path, data)
    for _ in range(25):
        off, shape = rng.choice(dims)
        k = rng.randrange(len(shape))
        v = rng.choice([1 << 24, 8192, 1 << 40, (1 << 62) + 5, 0, shape[k] + 1, 0xFFFFFFFFFFFFFFFF, 1 << 31])
        add("dims", [(off + 8 * k, struct.pack("<Q", v))])
    # The cases of issue 15: block1_conv1's output channels (which set the
    # width of the whole network) or a later kernel's made huge.
    for shape, k, v in [((3, 3, 3, 4), 3, 1 << 24), ((3, 3, 3, 4), 3, 8192), ((3, 3, 3, 4), 3, 1 << 40),
                        ((3, 3, 3, 4), 3, 1 << 20), ((3, 3, 32, 32), 3, 8192), ((3, 3, 32, 32), 2, 1 << 24)]:
        offs = [o for o, s in dims if s == shape]
        if offs:
            add("dims", [(offs[0] + 8 * k, struct.pack("<Q", v))])
    for t in signatures(data, b"TREE")[:6]:
        # level 1 and first child = the node itself: a cycle. The first child
        # address follows the 24-byte node header and the first key.
        typ = data[t + 4]
        key = 8 if typ == 0 else 8 + 8 * 5  # group key: heap offset; chunk key for rank-4 data + element dim
        add("cycle", [(t + 5, b"\x01"), (t + 24 + key, struct.pack("<Q", t))])
    for t in (signatures(data, b"OHDR") + ([0] if data[8] >= 2 else []))[:20]:
        o = t + rng.randrange(6, 24)
        add("checksum", [(o, bytes([data[o] ^ 0x04]))])
    fts = float_types(data)
    changes = [
        (1, bytes([0x21])),                  # big-endian
        (1, bytes([0x01])),                  # mantissa normalization none
        (1, bytes([0x10 | 0x20])),           # normalization 3 (reserved)
        (1, bytes([0x60])),                  # VAX order bit
        (2, bytes([30])),                    # sign location
        (8, struct.pack("<H", 8)),           # bit offset
        (10, struct.pack("<H", 31)),         # precision
        (12, bytes([22])),                   # exponent location
        (13, bytes([7])),                    # exponent size
        (15, bytes([22])),                   # mantissa size
        (16, struct.pack("<I", 128)),        # exponent bias
        (4, struct.pack("<I", 8)),           # element size
        (0, bytes([0x10])),                  # class integer
        (0, bytes([0x01])),                  # datatype version 0
    ]
    for _ in range(20):
        if not fts:
            break
        at = rng.choice(fts)
        rel, b = rng.choice(changes)
        add("dtype", [(at + rel, b)])
    return muts


def apply(data, m):
    b = bytearray(data)
    for o, hx in m["writes"]:
        v = bytes.fromhex(hx)
        b[o:o + len(v)] = v
    if m["truncate"] >= 0:
        b = b[:m["truncate"]]
    return bytes(b)


def verdict(path):
    """h5py's reading of path, in a child process with a time limit."""
    try:
        r = subprocess.run([sys.executable, __file__, "--digest", path], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": "h5py timed out"}
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
        return {"ok": False, "error": last[:200]}
    d, n = r.stdout.split()
    return {"ok": True, "digest": d, "weights": int(n)}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--digest":
        d, n = keras_digest(sys.argv[2])
        print(d, n)
        return 0
    out = None
    if len(sys.argv) == 3 and sys.argv[1] == "--out":
        out = sys.argv[2]
        os.makedirs(out, exist_ok=True)
    rng = random.Random(SEED)
    result = {"h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version, "seed": SEED, "bases": {}, "mutations": []}
    with tempfile.TemporaryDirectory() as tmp:
        for base in BASES:
            data = open(os.path.join(VGGDATA, base), "rb").read()
            d, n = keras_digest(os.path.join(VGGDATA, base))
            result["bases"][base] = {"sha256": hashlib.sha256(data).hexdigest(), "digest": d, "weights": n}
            for m in mutations(base, data, rng):
                i = len(result["mutations"])
                name = "m%04d_%s_%s.h5" % (i, m["kind"], base.replace(".h5", ""))
                p = os.path.join(out or tmp, name)
                with open(p, "wb") as fh:
                    fh.write(apply(data, m))
                m["name"] = name
                m["h5py"] = verdict(p)
                if out is None:
                    os.remove(p)
                result["mutations"].append(m)
                print(name, "ok" if m["h5py"]["ok"] else "refused", file=sys.stderr)
    with open(os.path.join(out or HERE, "mutations.json"), "w") as fh:
        json.dump(result, fh, indent=0, sort_keys=True)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
