#!/usr/bin/python3
"""Generates the PIL / scipy reference data for the dataset package's tests.

Run from anywhere with Debian's python3 (python3-pil 9.4, python3-scipy 1.10,
python3-numpy 1.24):   /usr/bin/python3 dataset/testdata/gen_reference.py

Outputs (all small) next to this script:
  colour/<name>.<ext>      tiny test images in many formats / colour models
  colour/<name>.rgb, .l    PIL's Image.open(f).convert('RGB' / 'L') bytes
  resize/src_*.png         random RGB sources; resize/<case>.bin PIL resize output
  affine/src.bin + *.bin   Keras apply_affine_transform outputs (scipy order 1)
  manifest.json            shapes and parameters of everything above
"""
import json, os
import numpy as np
from PIL import Image
import scipy.ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240501)
manifest = {"colour": [], "resize": [], "affine": []}


def out(*parts):
    p = os.path.join(HERE, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


# ---------------------------------------------------------------- colour
W, H = 13, 9
rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
rgba = np.concatenate([rgb, rng.integers(0, 256, (H, W, 1), dtype=np.uint8)], axis=2)
gray = rng.integers(0, 256, (H, W), dtype=np.uint8)
gray16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)
gray16[0, :6] = [0, 1, 255, 256, 1000, 65535]
cmyk = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
smooth = np.zeros((H * 4, W * 4, 3), dtype=np.uint8)  # JPEG-friendly gradient
yy, xx = np.mgrid[0:H * 4, 0:W * 4]
smooth[..., 0] = (xx * 255 // (W * 4 - 1))
smooth[..., 1] = (yy * 255 // (H * 4 - 1))
smooth[..., 2] = 128

cases = []
def add(name, img, fmt, **save):
    fname = name + "." + {"JPEG": "jpg", "PNG": "png", "BMP": "bmp", "TIFF": "tif", "GIF": "gif", "WEBP": "webp", "PPM": "ppm"}[fmt]
    img.save(out("colour", fname), fmt, **save)
    cases.append((name, fname, fmt))

add("png_rgb", Image.fromarray(rgb, "RGB"), "PNG")
add("png_rgba", Image.fromarray(rgba, "RGBA"), "PNG")
add("png_gray", Image.fromarray(gray, "L"), "PNG")
add("png_gray16", Image.fromarray(gray16), "PNG")
add("png_la", Image.fromarray(rgba[..., 2:], "LA"), "PNG")
pal = Image.fromarray(rgb, "RGB").quantize(16)
pal.info["transparency"] = 3
add("png_palette_trns", pal, "PNG", transparency=3)
add("bmp_rgb", Image.fromarray(rgb, "RGB"), "BMP")
add("bmp_gray", Image.fromarray(gray, "L"), "BMP")
add("tiff_rgb", Image.fromarray(rgb, "RGB"), "TIFF")
add("tiff_rgba", Image.fromarray(rgba, "RGBA"), "TIFF")
add("tiff_gray", Image.fromarray(gray, "L"), "TIFF")
add("gif_palette", Image.fromarray(rgb, "RGB").quantize(64), "GIF")
gt = Image.fromarray(rgb, "RGB").quantize(32)
add("gif_transparent", gt, "GIF", transparency=5)
add("ppm_rgb", Image.fromarray(rgb, "RGB"), "PPM")
add("pgm_gray", Image.fromarray(gray, "L"), "PPM")
add("webp_lossless", Image.fromarray(rgb, "RGB"), "WEBP", lossless=True)
add("jpeg_gray", Image.fromarray(np.kron(gray, np.ones((4, 4), np.uint8)), "L"), "JPEG", quality=95)
add("jpeg_rgb444", Image.fromarray(smooth, "RGB"), "JPEG", quality=95, subsampling=0)
add("jpeg_rgb420", Image.fromarray(smooth, "RGB"), "JPEG", quality=95, subsampling=2)
add("jpeg_rgb422", Image.fromarray(smooth, "RGB"), "JPEG", quality=95, subsampling=1)
odd = rng.integers(0, 256, (H * 2 + 1, W * 2 + 1, 3), dtype=np.uint8)  # odd sizes, noisy chroma
add("jpeg_rgb420_odd", Image.fromarray(odd, "RGB"), "JPEG", quality=90, subsampling=2)
add("webp_lossy_odd", Image.fromarray(odd, "RGB"), "WEBP", quality=80)
add("webp_lossy_even", Image.fromarray(smooth, "RGB"), "WEBP", quality=80)
add("jpeg_cmyk", Image.fromarray(np.kron(cmyk, np.ones((4, 4, 1), np.uint8)), "CMYK"), "JPEG", quality=95)
# A WebP (lossless) behind a .png name: the format must come from the content.
Image.fromarray(rgb, "RGB").save(out("colour", "webp_named_png.png"), "WEBP", lossless=True)
cases.append(("webp_named_png", "webp_named_png.png", "WEBP"))

for name, fname, fmt in cases:
    im = Image.open(out("colour", fname))
    r = np.asarray(im.convert("RGB"))
    l = np.asarray(im.convert("L")) if im.mode not in ("I", "I;16") else None
    r.tofile(out("colour", name + ".rgb"))
    entry = {"name": name, "file": fname, "format": fmt, "pil_mode": im.mode,
             "width": im.size[0], "height": im.size[1],
             "lossy": fmt in ("JPEG",) or name.startswith("webp_lossy")}
    if l is not None:
        l.tofile(out("colour", name + ".l"))
        entry["has_l"] = True
    manifest["colour"].append(entry)

# EXIF orientation: a non-square image tagged with each orientation;
# reference = PIL's ImageOps.exif_transpose, then convert RGB.
from PIL import ImageOps
blocks = np.kron(rng.integers(0, 256, (3, 5, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
for o in range(1, 9):
    im = Image.fromarray(blocks, "RGB")
    ex = Image.Exif(); ex[0x0112] = o
    fname = "exif_%d.jpg" % o
    im.save(out("colour", fname), "JPEG", quality=98, subsampling=0, exif=ex.tobytes())
    t = ImageOps.exif_transpose(Image.open(out("colour", fname))).convert("RGB")
    np.asarray(t).tofile(out("colour", "exif_%d.rgb" % o))
    manifest.setdefault("exif", []).append({"file": fname, "orientation": o, "width": t.size[0], "height": t.size[1]})

# ---------------------------------------------------------------- resize
for (sw, sh) in [(37, 23), (8, 5), (61, 97)]:
    src = rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8)
    src[: sh // 2, : sw // 2] = 200  # a flat block and an edge
    sname = "src_%dx%d.png" % (sw, sh)
    Image.fromarray(src, "RGB").save(out("resize", sname))
    for (tw, th) in [(16, 29), (40, 40), (20, 15), (sw, 7), (max(1, sw // 3), sh)]:
        for method, flag in [("nearest", Image.NEAREST), ("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC)]:
            for mode in ("RGB", "L"):
                im = Image.fromarray(src, "RGB").convert(mode)
                r = np.asarray(im.resize((tw, th), flag))
                cname = "%s_%dx%d_to_%dx%d_%s.bin" % (mode, sw, sh, tw, th, method)
                r.tofile(out("resize", cname))
                manifest["resize"].append({"src": sname, "mode": mode, "method": method,
                                           "width": tw, "height": th, "file": cname})

# ---------------------------------------------------------------- affine
# Keras's apply_affine_transform (channels last: row_axis 0, col_axis 1),
# restated: compose R, S, Sh, Z; centre with o = (h/2-0.5, w/2-0.5);
# swap rows/cols 0 and 1; scipy.ndimage.affine_transform per channel,
# order=1. Then flips (apply_transform order).
def keras_affine(x, theta, tx, ty, shear, zx, zy, fill, cval, fliph, flipv):
    m = None
    def dot(a, b):
        return b if a is None else a @ b
    if theta != 0:
        t = np.deg2rad(theta)
        m = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    if tx != 0 or ty != 0:
        m = dot(m, np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        m = dot(m, np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        m = dot(m, np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if m is not None:
        h, w = x.shape[0], x.shape[1]
        ox, oy = h / 2 - 0.5, w / 2 - 0.5
        m = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]]) @ m @ np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
        m[:, [0, 1]] = m[:, [1, 0]]
        m[[0, 1]] = m[[1, 0]]
        chans = [ndi.affine_transform(x[..., c], m[:2, :2], m[:2, 2], order=1, mode=fill, cval=cval)
                 for c in range(x.shape[2])]
        x = np.stack(chans, axis=2)
    if fliph:
        x = x[:, ::-1]
    if flipv:
        x = x[::-1]
    return x

for (h, w) in [(16, 16), (11, 17)]:
    src = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    sname = "src_%dx%d.bin" % (h, w)
    src.tofile(out("affine", sname))
    params = [
        dict(theta=30), dict(theta=-90), dict(tx=2.5, ty=-3.25), dict(tx=-5, ty=4),
        dict(shear=20), dict(zx=0.7, zy=1.3), dict(zx=1.25, zy=0.8),
        dict(theta=17, tx=1.5, ty=-2, shear=8, zx=0.9, zy=1.1),
        dict(theta=40, tx=3, ty=2, shear=-15, zx=1.3, zy=0.75, fliph=True),
        dict(theta=-25, zx=0.6, zy=0.6, flipv=True, fliph=True),
        dict(fliph=True), dict(flipv=True), dict(),
    ]
    for k, p in enumerate(params):
        for fill in ("nearest", "constant", "reflect", "wrap"):
            q = dict(theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, fliph=False, flipv=False)
            q.update(p)
            y = keras_affine(src.astype(np.float32), fill=fill, cval=77.0, **q)
            fname = "out_%dx%d_%d_%s.bin" % (h, w, k, fill)
            np.ascontiguousarray(y, dtype=np.float32).tofile(out("affine", fname))
            manifest["affine"].append(dict(src=sname, h=h, w=w, fill=fill, cval=77.0, file=fname, **q))

with open(out("manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print("wrote", sum(len(v) for v in manifest.values()), "reference entries")
