"""Expected output of vgg's Example_features, computed without gotransfer.

PIL loads ../../dataset/testdata/resize/src_61x97.png and resizes it to 64x64
with BILINEAR (what Keras's load_img does with interpolation='bilinear'); h5py
reads the conv weights of vgg16_notop_w16_tfkeras.h5; torch (float64, NCHW)
runs the VGG16 base on the caffe-preprocessed image and global-average-pools
block5_pool. Prints what the example prints.

Run from vgg/testdata: /usr/bin/python3 gen_example_features.py
"""
import h5py
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

MEAN_BGR = np.array([103.939, 116.779, 123.68])
PLAN = [2, 2, 3, 3, 3]

img = Image.open("../../dataset/testdata/resize/src_61x97.png").convert("RGB").resize((64, 64), Image.BILINEAR)
x = np.asarray(img, dtype=np.float64)[None, ..., ::-1] - MEAN_BGR
t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
with h5py.File("vgg16_notop_w16_tfkeras.h5", "r") as f:
    for b, n in enumerate(PLAN, start=1):
        for i in range(1, n + 1):
            g = f[f"model_weights/block{b}_conv{i}/block{b}_conv{i}"]
            k = torch.from_numpy(g["kernel:0"][()].astype(np.float64)).permute(3, 2, 0, 1)
            bias = torch.from_numpy(g["bias:0"][()].astype(np.float64))
            t = F.relu(F.conv2d(t, k, bias, padding=1))
        t = F.max_pool2d(t, 2, 2)
feat = t.mean(dim=(2, 3))[0].numpy()
print("features", tuple(feat.shape), "first four", " ".join(f"{v:.3f}" for v in feat[:4]))
