#!/usr/bin/python3
"""Generate the vgg package's test fixtures: small reduced-width VGG weight
files in the Keras legacy HDF5 layouts, and reference outputs computed by an
independent PyTorch forward pass.

Run (Debian: apt install python3-h5py python3-numpy python3-torch):

    cd vgg/testdata && /usr/bin/python3 gen_reference.py

Everything is deterministic (numpy seed 20240607). The Go tests read these
files only; they never need Python.

Network: Keras's VGG (block<b>_conv<i>: 3x3 'same' conv + ReLU, block<b>_pool:
2x2/2 max pool; blocks of 1,1,2,2,2 (VGG11), 2,2,2,2,2 (VGG13), 2,2,3,3,3
(VGG16) or 2,2,4,4,4 (VGG19) convs; top: flatten (of NHWC!), fc1, fc2 (ReLU),
predictions (softmax)) with every channel count multiplied by WIDTH = 1/16:
64,128,256,512,512,4096 -> 4,8,16,32,32,256. Kernels are stored as Keras does,
(kh, kw, cin, cout); PyTorch gets them transposed to OIHW and runs on NCHW in
float64. Preprocessing (RGB->BGR, minus the caffe means) is done in numpy.

Files written:
  img.npy                           uint8 (2, 64, 48, 3) RGB test images
  vgg16_top_w16_keras1.h5           Keras-1 ImageNet layout ("block1_conv1_W_1:0"),
                                    fixed-length strings, input_1 + pools with empty
                                    float64 weight_names, include_top, 10 classes
  ref_vgg16_top_<layer>.npy         float32 outputs (NHWC / (N,C)) after each pool,
                                    fc1, fc2 and predictions for that file
  vgg16_notop_w16_tfkeras.h5        same conv weights, tf.keras 2.x full-model save:
                                    root model_config, model_weights group, nested
                                    "block1_conv1/kernel:0" names, variable-length
                                    strings, an optimizer_weights group
  vgg16_notop_w16_keras3.h5         same conv weights, Keras 3 legacy .h5: names
                                    "block1_conv1/kernel", input_layer in layer_names,
                                    groups created in sorted order,
                                    top_level_model_weights group
  vgg16_notop_w16_gzip.h5           same conv weights, chunked + shuffle + gzip
  nested_vgg16_head_w16_tfkeras.h5  the Keras blog's fine-tuned model saved whole: group
                                    "vgg16" holding every base weight, then flatten,
                                    dense (64->8 relu), dense_1 (8->2 softmax)
  ref_nested_head_output.npy        its output on img.npy
  vgg16_notop_w16_gzip_latest.h5    the same with libver='latest' (v3 superblock,
                                    new-style groups, fixed-array/single-chunk indexes)
  ref_vgg16_notop_avg.npy / _max.npy  global average / max pooled block5_pool
  vgg16_notop_w16_truncated.h5      a valid notop file cut at 60% of its bytes
  vgg16_notop_w16_wrongshape.h5     block3_conv2 kernel (3,3,16,17), bias (17,)
  vgg<d>_notop_w16.h5, ref_vgg<d>_notop_block5_pool.npy  for d = 11, 13, 19
  img64.npy, ref_features_64_{none,avg}.npy  two 64x64 images and their
                                    block5_pool / avg-pooled features with the notop
                                    weights (for cmd/features)
  ref_shared_notop_224_{avg,max}.npy  pooled block5_pool of the real VGG16 base
                                    /work/shared/weights/vgg16_imagenette_notop.h5 on a
                                    224x224 formula image (see main)
  tiny_vgg11_keras1.h5              VGG11 with 1 channel per conv (fuzz seed)
  npy_sample_f4.npy, npy_sample_i8.npy  np.save outputs for the .npy codec test
"""
import json
import math
import os

import h5py
import numpy as np
import torch
import torch.nn.functional as F

WIDTH = 1.0 / 16
CLASSES = 10
PLANS = {11: [1, 1, 2, 2, 2], 13: [2, 2, 2, 2, 2], 16: [2, 2, 3, 3, 3], 19: [2, 2, 4, 4, 4]}
BASE = [64, 128, 256, 512, 512]
MEAN_BGR = np.array([103.939, 116.779, 123.68])


def ch(c):
    """Go's max(1, math.Round(c*WIDTH)) (round half away from zero)."""
    return max(1, int(math.floor(c * WIDTH + 0.5)))


def make_layers(depth, top, rng, in_hw):
    """Return [(name, [kernel, bias] or [])] in model order, Keras layouts, float32."""
    layers = []
    cin = 3
    h, w = in_hw
    for b, n in enumerate(PLANS[depth], start=1):
        cout = ch(BASE[b - 1])
        for i in range(1, n + 1):
            k = rng.normal(0, math.sqrt(2.0 / (9 * cin)), size=(3, 3, cin, cout)).astype(np.float32)
            bias = rng.normal(0.05, 0.05, size=(cout,)).astype(np.float32)
            layers.append((f"block{b}_conv{i}", [k, bias]))
            cin = cout
        layers.append((f"block{b}_pool", []))
        h, w = h // 2, w // 2
    if top:
        layers.append(("flatten", []))
        fin = h * w * cin
        for name, fout in (("fc1", ch(4096)), ("fc2", ch(4096)), ("predictions", CLASSES)):
            # He-scaled hidden layers; tiny predictions kernel so the softmax is not one-hot
            std = math.sqrt(2.0 / fin) if name != "predictions" else 5e-4
            k = rng.normal(0, std, size=(fin, fout)).astype(np.float32)
            bias = rng.normal(0.02, 0.05, size=(fout,)).astype(np.float32)
            layers.append((name, [k, bias]))
            fin = fout
    return layers


def forward(img, layers, pooling=None):
    """Independent reference: numpy caffe preprocessing, torch float64 NCHW."""
    x = img.astype(np.float64)[..., ::-1] - MEAN_BGR          # RGB -> BGR, minus means
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NHWC -> NCHW
    outs = {}
    for name, ws in layers:
        if "_conv" in name:
            k = torch.from_numpy(ws[0].astype(np.float64)).permute(3, 2, 0, 1)  # (kh,kw,ci,co)->(co,ci,kh,kw)
            t = F.relu(F.conv2d(t, k, torch.from_numpy(ws[1].astype(np.float64)), padding=1))
        elif name.endswith("_pool"):
            t = F.max_pool2d(t, 2, 2)
            outs[name] = t.permute(0, 2, 3, 1).numpy().astype(np.float32)
        elif name == "flatten":
            t = t.permute(0, 2, 3, 1).reshape(t.shape[0], -1)  # Keras flattens NHWC
        else:
            W = torch.from_numpy(ws[0].astype(np.float64))
            t = F.linear(t, W.t(), torch.from_numpy(ws[1].astype(np.float64)))
            t = torch.softmax(t, dim=1) if name == "predictions" else F.relu(t)
            outs[name] = t.numpy().astype(np.float32)
    if pooling == "avg":
        outs["avg"] = t.mean(dim=(2, 3)).numpy().astype(np.float32)
    if pooling == "max":
        outs["max"] = t.amax(dim=(2, 3)).numpy().astype(np.float32)
    return outs


def write_keras1(path, layers, libver=None):
    """Keras-1 ImageNet-file layout: fixed-length strings, <layer>_W_1:0 / _b_1:0."""
    with h5py.File(path, "w", libver=libver) if libver else h5py.File(path, "w") as f:
        names = ["input_1"] + [n for n, _ in layers]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name in names:
            ws = dict(layers).get(name, [])
            g = f.create_group(name)
            if not ws:
                g.attrs["weight_names"] = np.array([], dtype=np.float64)  # as Keras 1 wrote it
                continue
            wn = [f"{name}_W_1:0", f"{name}_b_1:0"]
            g.attrs["weight_names"] = np.array([s.encode() for s in wn])
            for n, v in zip(wn, ws):
                g.create_dataset(n, data=v)


def write_tfkeras(path, layers):
    """tf.keras 2.x model.save('x.h5'): model_weights group, nested names, vlen strings."""
    vstr = h5py.string_dtype(encoding="utf-8")
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": {"name": "vgg16"}})
        mw = f.create_group("model_weights")
        names = ["input_1"] + [n for n, _ in layers]
        mw.attrs.create("layer_names", names, dtype=vstr)
        mw.attrs["backend"] = "tensorflow"
        mw.attrs["keras_version"] = "2.11.0"
        for name in names:
            ws = dict(layers).get(name, [])
            g = mw.create_group(name)
            wn = [f"{name}/kernel:0", f"{name}/bias:0"] if ws else []
            g.attrs.create("weight_names", wn, dtype=vstr)
            for n, v in zip(wn, ws):
                g.create_dataset(n, data=v)
        ow = f.create_group("optimizer_weights")
        ow.attrs.create("weight_names", ["Adam/iter:0"], dtype=vstr)
        ow.create_dataset("Adam/iter:0", data=np.int64(7))


def write_nested(path, base, head):
    """tf.keras 2.x model.save('x.h5') of the Keras blog's fine-tuning model
    Sequential([conv_base, Flatten(), Dense(8, relu), Dense(2, softmax)]):
    model_weights/layer_names = vgg16, flatten, dense, dense_1; the group
    "vgg16" holds every base weight as "block1_conv1/kernel:0", ..."""
    vstr = h5py.string_dtype(encoding="utf-8")
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "sequential"}})
        mw = f.create_group("model_weights")
        names = ["vgg16"] + [n for n, _ in head]
        mw.attrs.create("layer_names", names, dtype=vstr)
        g = mw.create_group("vgg16")
        wn, vals = [], []
        for name, ws in base:
            if ws:
                wn += [f"{name}/kernel:0", f"{name}/bias:0"]
                vals += ws
        g.attrs.create("weight_names", wn, dtype=vstr)
        for n, v in zip(wn, vals):
            g.create_dataset(n, data=v)
        for name, ws in head:
            g = mw.create_group(name)
            hn = [f"{name}/kernel:0", f"{name}/bias:0"] if ws else []
            g.attrs.create("weight_names", hn, dtype=vstr)
            for n, v in zip(hn, ws):
                g.create_dataset(n, data=v)


def write_keras3(path, layers):
    """Keras 3 legacy .h5 (save_weights_to_hdf5_group): names without ':0',
    groups created in sorted order, top_level_model_weights; contiguous
    datasets and h5py's default libver, as Keras 3 writes them."""
    with h5py.File(path, "w") as f:
        names = ["input_layer"] + [n for n, _ in layers]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"3.3.3"
        for name in sorted(names):
            ws = dict(layers).get(name, [])
            g = f.create_group(name)
            wn = [f"{name}/kernel", f"{name}/bias"] if ws else []
            g.attrs["weight_names"] = np.array([s.encode() for s in wn], dtype="S")
            for n, v in zip(wn, ws):
                g.create_dataset(n, data=v)
        t = f.create_group("top_level_model_weights")
        t.attrs["weight_names"] = np.array([], dtype="S")


def write_chunked(path, layers, libver):
    """tf.keras-style names with chunked + shuffle + gzip storage: kernels in
    several chunks (cout split in halves), biases in one chunk."""
    with h5py.File(path, "w", libver=libver) if libver else h5py.File(path, "w") as f:
        names = [n for n, _ in layers]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name in names:
            ws = dict(layers).get(name, [])
            g = f.create_group(name)
            wn = [f"{name}/kernel:0", f"{name}/bias:0"] if ws else []
            g.attrs["weight_names"] = np.array([s.encode() for s in wn], dtype="S")
            for n, v in zip(wn, ws):
                chunks = v.shape[:-1] + (max(1, v.shape[-1] // 2),) if v.ndim > 1 else v.shape
                g.create_dataset(n, data=v, chunks=chunks, compression="gzip", shuffle=True, track_times=False)


def main():
    rng = np.random.default_rng(20240607)
    H, W = 64, 48
    # image 0: smooth colour ramps; image 1: uniform noise. Both RGB uint8.
    yy, xx = np.mgrid[0:H, 0:W]
    img0 = np.stack([(xx * 255) // (W - 1), (yy * 255) // (H - 1), ((xx + yy) * 3) % 256], axis=-1)
    img1 = rng.integers(0, 256, size=(H, W, 3))
    img = np.stack([img0, img1]).astype(np.uint8)
    np.save("img.npy", img)

    top = make_layers(16, True, rng, (H, W))
    write_keras1("vgg16_top_w16_keras1.h5", top)
    outs = forward(img, top)
    for name, v in outs.items():
        np.save(f"ref_vgg16_top_{name}.npy", v)

    base = [(n, ws) for n, ws in top if n.startswith("block")]
    write_tfkeras("vgg16_notop_w16_tfkeras.h5", base)
    write_keras3("vgg16_notop_w16_keras3.h5", base)
    write_chunked("vgg16_notop_w16_gzip.h5", base, None)

    # nested full-model save: base + flatten + dense (64->8, relu) + dense_1 (8->2, softmax)
    hr = np.random.default_rng(7)  # own stream: leaves the other fixtures unchanged
    head = [("flatten", []),
            ("dense", [hr.normal(0, 0.05, size=(64, 8)).astype(np.float32), hr.normal(0.1, 0.05, size=(8,)).astype(np.float32)]),
            ("dense_1", [hr.normal(0, 0.02, size=(8, 2)).astype(np.float32), np.array([0.1, -0.1], np.float32)])]
    write_nested("nested_vgg16_head_w16_tfkeras.h5", base, head)
    x = torch.from_numpy(forward(img, base)["block5_pool"].astype(np.float64)).reshape(2, -1)  # NHWC flatten
    for name, ws in head[1:]:
        x = F.linear(x, torch.from_numpy(ws[0].astype(np.float64)).t(), torch.from_numpy(ws[1].astype(np.float64)))
        x = F.relu(x) if name == "dense" else torch.softmax(x, dim=1)
    np.save("ref_nested_head_output.npy", x.numpy().astype(np.float32))
    write_chunked("vgg16_notop_w16_gzip_latest.h5", base, "latest")
    np.save("ref_vgg16_notop_avg.npy", forward(img, base, "avg")["avg"])
    np.save("ref_vgg16_notop_max.npy", forward(img, base, "max")["max"])

    write_keras1("vgg16_notop_w16_full.tmp", base)
    data = open("vgg16_notop_w16_full.tmp", "rb").read()
    open("vgg16_notop_w16_truncated.h5", "wb").write(data[: int(len(data) * 0.6)])
    os.remove("vgg16_notop_w16_full.tmp")

    wrong = [(n, ws) if n != "block3_conv2" else (n, [ws[0][..., :1].repeat(17, axis=3), np.zeros(17, np.float32)])
             for n, ws in base]
    write_keras1("vgg16_notop_w16_wrongshape.h5", wrong)

    for depth in (11, 13, 19):
        layers = make_layers(depth, False, rng, (H, W))
        write_keras1(f"vgg{depth}_notop_w16.h5", layers)
        np.save(f"ref_vgg{depth}_notop_block5_pool.npy", forward(img, layers)["block5_pool"])

    # cmd/features end-to-end: two square 64x64 images (written as PNG by the
    # Go test, so no resize happens) through the same notop weights.
    yy, xx = np.mgrid[0:64, 0:64]
    sq0 = np.stack([(xx * 4) % 256, (yy * 4) % 256, ((xx * yy) // 8) % 256], axis=-1)
    sq1 = rng.integers(0, 256, size=(64, 64, 3))
    img64 = np.stack([sq0, sq1]).astype(np.uint8)
    np.save("img64.npy", img64)
    np.save("ref_features_64_none.npy", forward(img64, base)["block5_pool"])
    np.save("ref_features_64_avg.npy", forward(img64, base, "avg")["avg"])

    # Full size: the real VGG16 base of /work/shared (when present) on a
    # 224x224 image given by a formula (so it need not be stored):
    # R = (3x + 5y) mod 256, G = (x*y) mod 256, B = (x XOR y) * 2 mod 256.
    shared = "/work/shared/weights/vgg16_imagenette_notop.h5"
    if os.path.exists(shared):
        yy, xx = np.mgrid[0:224, 0:224]
        img224 = np.stack([(3 * xx + 5 * yy) % 256, (xx * yy) % 256, ((xx ^ yy) * 2) % 256], axis=-1)[None]
        with h5py.File(shared, "r") as f:
            real = []
            for name in [n.decode() for n in f.attrs["layer_names"]]:
                wn = [n.decode() for n in f[name].attrs["weight_names"]] if len(f[name].attrs["weight_names"]) else []
                real.append((name, [f[name][n][()] for n in wn]))
        np.save("ref_shared_notop_224_avg.npy", forward(img224, real, "avg")["avg"])
        np.save("ref_shared_notop_224_max.npy", forward(img224, real, "max")["max"])

    # tiny fuzz seed: VGG11 with 1 channel everywhere, Keras 1 layout
    tiny = []
    cin = 3
    for name, ws in make_layers(11, False, np.random.default_rng(1), (32, 32)):
        if ws:
            k = ws[0][:, :, :cin, :1]
            tiny.append((name, [np.ascontiguousarray(k), ws[1][:1]]))
            cin = 1
        else:
            tiny.append((name, []))
    write_keras1("tiny_vgg11_keras1.h5", tiny)

    np.save("npy_sample_f4.npy", np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5)
    np.save("npy_sample_i8.npy", np.array([3, -1, 7], dtype=np.int64))
    print("predictions:", outs["predictions"].argmax(axis=1), outs["predictions"].max(axis=1))
    for k, v in outs.items():
        print(k, v.shape, float(np.abs(v).max()))


if __name__ == "__main__":
    main()
