#!/usr/bin/python3
"""Check with h5py that a file written by vgg.SaveKerasWeights has Keras's
legacy layout and the right names, shapes and values.

    go test ./vgg -run TestSaveForH5py -args -h5py-out=/tmp/saved.h5
    /usr/bin/python3 vgg/testdata/check_h5py.py /tmp/saved.h5 vgg/testdata/vgg16_top_w16_keras1.h5

The second file is the one TestSaveForH5py loaded; the weights must be equal
layer by layer, in weight_names order. Exit status 1 on any difference.
"""
import sys

import h5py
import numpy as np


def names(attr):
    return [n.decode() if isinstance(n, bytes) else str(n) for n in attr] if len(attr) else []


def main(saved, original):
    a, b = h5py.File(saved, "r"), h5py.File(original, "r")
    for key in ("layer_names", "backend", "keras_version"):
        assert key in a.attrs, f"root attribute {key} missing"
    got_layers = names(a.attrs["layer_names"])
    want_layers = [n for n in names(b.attrs["layer_names"]) if n != "input_1"]
    assert got_layers == want_layers, f"layer_names {got_layers} != {want_layers}"
    checked = 0
    for layer in got_layers:
        wa, wb = names(a[layer].attrs["weight_names"]), names(b[layer].attrs["weight_names"])
        assert len(wa) == len(wb), f"{layer}: {wa} vs {wb}"
        want_names = [f"{layer}/kernel:0", f"{layer}/bias:0"] if wa else []
        assert wa == want_names, f"{layer}: weight_names {wa}, want {want_names}"
        for x, y in zip(wa, wb):
            va, vb = a[layer][x][()], b[layer][y][()]
            assert va.dtype == np.float32 and va.shape == vb.shape, f"{layer}/{x}: {va.dtype} {va.shape} vs {vb.shape}"
            assert np.array_equal(va, vb), f"{layer}/{x}: values differ"
            checked += 1
    print(f"h5py reads {saved}: {len(got_layers)} layers, {checked} weights equal to {original}")


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except AssertionError as e:
        print("check_h5py:", e)
        sys.exit(1)
