#!/usr/bin/python3
"""Reference outputs for ImageDataGenerator's channel_shift_range and
brightness_range, as Keras applies them (keras/src/legacy/preprocessing/
image.py: apply_transform, apply_channel_shift, apply_brightness_shift with
scale=False, image_utils.array_to_img / img_to_array).

The steps are restated here from their documented behaviour; the oracle for
the brightness step is PIL itself (ImageEnhance.Brightness), for the affine
step scipy.ndimage.affine_transform, both as Keras calls them.

Run with Debian's python3 (python3-pil 9.4, python3-numpy, python3-scipy):
    /usr/bin/python3 dataset/testdata/gen_colourshift.py
Writes colourshift/*.bin (float32 little endian, HWC) and colourshift.json.
"""
import json, os
import numpy as np
from PIL import Image, ImageEnhance
import scipy.ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "colourshift")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261201)
cases = []


def save(name, arr):
    np.ascontiguousarray(arr, dtype=np.float32).tofile(os.path.join(OUT, name))
    return name


def channel_shift(x, intensity):
    # One intensity for every channel; clip to the whole image's min/max
    # taken before the shift. float32 array + Python float stays float32.
    lo, hi = np.min(x), np.max(x)
    return np.clip(x + intensity, lo, hi)


def brightness(x, factor):
    # apply_brightness_shift(x, factor, scale=False):
    # array_to_img scales only when values leave 0..255, casts to uint8
    # (truncation), PIL enhances, img_to_array gives float32 back, and the
    # scaled case is mapped back to the original range.
    lo, hi = np.min(x), np.max(x)
    local = (lo < 0) or (hi > 255)
    y = np.asarray(x, dtype=np.float32)
    if local:
        y = y - np.min(y)
        top = np.max(y)
        if top != 0:
            y /= top
        y *= 255
    c = y.shape[2]
    if c == 3:
        im = Image.fromarray(y.astype("uint8"), "RGB")
    else:
        im = Image.fromarray(y[:, :, 0].astype("uint8"), "L")
    im = ImageEnhance.Brightness(im).enhance(factor)
    z = np.asarray(im, dtype=np.float32)
    if z.ndim == 2:
        z = z[:, :, None]
    if local:
        z = z / 255 * (hi - lo) + lo
    return z


def affine(x, tx, ty, fill, cval):
    # Keras's shift matrix [[1,0,tx],[0,1,ty],[0,0,1]] (centring cancels for
    # a pure shift), rows/cols swapped for scipy, order 1, per channel.
    if tx == 0 and ty == 0:
        return x
    m = np.array([[1.0, 0, ty], [0, 1.0, tx], [0, 0, 1.0]])
    chans = [ndi.affine_transform(x[..., c], m[:2, :2], m[:2, 2], order=1, mode=fill, cval=cval)
             for c in range(x.shape[2])]
    return np.stack(chans, axis=2)


# Direct tests of the two steps on fractional float32 images.
for c in (3, 1):
    frac = rng.uniform(0, 255, (9, 7, c)).astype(np.float32)
    frac[0, 0, 0], frac[0, 1, 0], frac[0, 2, 0] = 0.0, 255.0, 37.99999
    wide = rng.uniform(-30, 300, (9, 7, c)).astype(np.float32)
    flat = np.full((9, 7, c), -5.0, np.float32)
    src = {"frac": frac, "wide": wide, "flat": flat}
    for sname, x in src.items():
        save("src_%s_%d.bin" % (sname, c), x)
        for k, s in enumerate([12.7, -40.25, 300.0, 0.001]):
            f = save("shift_%s_%d_%d.bin" % (sname, c, k), channel_shift(x, s))
            cases.append(dict(kind="shift", src="src_%s_%d.bin" % (sname, c), h=9, w=7, c=c, value=s, file=f))
        for k, b in enumerate([0.5, 1.0, 1.3, 2.5, 0.01, 0.8765]):
            f = save("bright_%s_%d_%d.bin" % (sname, c, k), brightness(x, b))
            cases.append(dict(kind="brightness", src="src_%s_%d.bin" % (sname, c), h=9, w=7, c=c, value=b, file=f))

# Whole apply_transform order on a uint8 image: affine (integer shifts, so
# the resampling is exact), channel shift, horizontal then vertical flip,
# brightness.
img = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
save("src_full.bin", img.astype(np.float32))
params = [
    dict(tx=2, ty=-3, fill="constant", cval=-30.5, shift=12.7, bright=1.4, fliph=True, flipv=False),
    dict(tx=-1, ty=4, fill="constant", cval=300.0, shift=-20.0, bright=0.6, fliph=False, flipv=True),
    dict(tx=0, ty=0, fill="nearest", cval=0.0, shift=33.3, bright=0.9, fliph=True, flipv=True),
    dict(tx=3, ty=2, fill="reflect", cval=0.0, shift=0.0, bright=1.1, fliph=False, flipv=False),
    dict(tx=-2, ty=-2, fill="wrap", cval=0.0, shift=-7.5, bright=0.0, fliph=True, flipv=False),
]
for k, p in enumerate(params):
    x = affine(img.astype(np.float32), p["tx"], p["ty"], p["fill"], p["cval"])
    if p["shift"] != 0:
        x = channel_shift(x, p["shift"])
    if p["fliph"]:
        x = x[:, ::-1]
    if p["flipv"]:
        x = x[::-1]
    if p["bright"] != 0:
        x = brightness(x, p["bright"])
    f = save("full_%d.bin" % k, x)
    cases.append(dict(kind="full", src="src_full.bin", h=12, w=10, c=3, file=f, **p))

with open(os.path.join(HERE, "colourshift.json"), "w") as fh:
    json.dump(cases, fh, indent=1)
print("wrote", len(cases), "cases")
