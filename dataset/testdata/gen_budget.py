#!/usr/bin/python3
"""Small images in the layouts Go's encoders cannot write, for the
decode-memory estimate test (TestDecodeMemoryEstimate): interlaced PNG,
progressive and CMYK JPEG, LZW TIFF, lossless and alpha WebP, 16-bit PNG.
Smooth content keeps the files small; the sizes are what matter.

Run with Debian's python3 (python3-pil 9.4, python3-numpy):
    /usr/bin/python3 dataset/testdata/gen_budget.py
"""
import os
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "budget")
os.makedirs(OUT, exist_ok=True)
W, H = 301, 203
yy, xx = np.mgrid[0:H, 0:W]
rgb = np.stack([xx * 255 // (W - 1), yy * 255 // (H - 1), np.full_like(xx, 128)], axis=2).astype(np.uint8)
alpha = (yy * 255 // (H - 1)).astype(np.uint8)
rgba = np.concatenate([rgb, alpha[..., None]], axis=2)


def p(name):
    return os.path.join(OUT, name)


Image.fromarray(rgb, "RGB").save(p("progressive.jpg"), "JPEG", quality=90, progressive=True)
Image.fromarray(rgb, "RGB").save(p("progressive444.jpg"), "JPEG", quality=90, progressive=True, subsampling=0)
Image.fromarray(rgb, "RGB").convert("CMYK").save(p("cmyk.jpg"), "JPEG", quality=90)
Image.fromarray(rgb, "RGB").convert("CMYK").save(p("cmyk_progressive.jpg"), "JPEG", quality=90, progressive=True)
# TIFF without a predictor compresses gradients badly: a smaller crop.
Image.fromarray(rgb[:67, :101].copy(), "RGB").save(p("lzw.tif"), "TIFF", compression="tiff_lzw")
Image.fromarray(rgba[:67, :101].copy(), "RGBA").save(p("deflate_rgba.tif"), "TIFF", compression="tiff_adobe_deflate")
Image.fromarray(rgb, "RGB").save(p("lossless.webp"), "WEBP", lossless=True)
Image.fromarray(rgba, "RGBA").save(p("alpha.webp"), "WEBP", quality=80)
Image.fromarray(rgb, "RGB").save(p("lossy.webp"), "WEBP", quality=80)
g16 = (xx * 200 + yy * 7).astype(np.uint16)
Image.fromarray(g16).save(p("gray16.png"), "PNG")
print("wrote", sorted(os.listdir(OUT)))
