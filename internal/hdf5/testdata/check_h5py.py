#!/usr/bin/env python3
"""Check with h5py that an HDF5 file written by our Go writer reads back as expected.

Usage: check_h5py.py FILE.h5 EXPECT.json
EXPECT.json is written by `go run ./internal/hdf5/cmd/h5write-sample OUT.h5 OUT.json`:
  attrs:    {"/group@name": [strings]}      (scalars listed in "scalars")
  members:  {"/group": [sorted member names]}
  datasets: {"/path": {"shape": [...], "first": [...], "sum": float}}
Every dataset is looked up by name (exercising HDF5's B-tree search) and read in full.
Exits 0 when everything matches, 1 with a list of mismatches otherwise.
"""
import json
import sys

import h5py
import numpy as np


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, expect_path = sys.argv[1], sys.argv[2]
    with open(expect_path) as fh:
        exp = json.load(fh)
    errors = []
    with h5py.File(path, "r") as f:
        scalars = set(exp.get("scalars") or [])
        for key, want in (exp.get("attrs") or {}).items():
            group, name = key.split("@", 1)
            if name not in f[group].attrs:
                errors.append(f"{key}: attribute missing")
                continue
            raw = f[group].attrs[name]
            arr = np.asarray(raw)
            if key in scalars:
                if arr.shape != ():
                    errors.append(f"{key}: shape {arr.shape}, want scalar")
                got = [arr.item().decode() if isinstance(arr.item(), bytes) else str(arr.item())]
            else:
                if arr.ndim != 1:
                    errors.append(f"{key}: rank {arr.ndim}, want 1")
                    continue
                # Keras's legacy loader does [n.decode('utf8') for n in attrs[name]].
                got = [n.decode("utf8") if hasattr(n, "decode") else str(n) for n in arr]
            if got != want:
                errors.append(f"{key}: got {got}, want {want}")
        for group, want in (exp.get("members") or {}).items():
            got = sorted(f[group].keys())
            if got != want:
                errors.append(f"{group}: members {got}, want {want}")
        for dpath, want in (exp.get("datasets") or {}).items():
            if dpath not in f:
                errors.append(f"{dpath}: dataset missing")
                continue
            d = f[dpath]
            if d.dtype != np.dtype("<f4"):
                errors.append(f"{dpath}: dtype {d.dtype}, want <f4")
            if list(d.shape) != want["shape"]:
                errors.append(f"{dpath}: shape {list(d.shape)}, want {want['shape']}")
                continue
            v = d[()].astype(np.float32).ravel()
            first = np.asarray(want["first"], dtype=np.float32)
            if not np.array_equal(v[: len(first)], first):
                errors.append(f"{dpath}: first values {v[:len(first)].tolist()}, want {first.tolist()}")
            s = float(v.astype(np.float64).sum())
            if abs(s - want["sum"]) > 1e-9 * max(1.0, abs(want["sum"])):
                errors.append(f"{dpath}: sum {s!r}, want {want['sum']!r}")
    if errors:
        print(f"{path}: {len(errors)} mismatch(es) with {expect_path}:")
        for e in errors:
            print("  " + e)
        return 1
    print(f"{path}: h5py reads it as expected ({len(exp.get('datasets') or {})} datasets, {len(exp.get('attrs') or {})} attributes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
