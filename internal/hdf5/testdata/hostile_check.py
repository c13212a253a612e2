#!/usr/bin/python3
"""Load every mutated weight file of a corpus through cmd/features and check issue 15's targets.

Usage:
  /usr/bin/python3 internal/hdf5/testdata/gen_mutations.py --out CORPUS      # needs h5py
  go build -o /tmp/hdf5-features ./cmd/features
  go build -o /tmp/h5kerasdigest ./internal/hdf5/cmd/h5kerasdigest
  /usr/bin/python3 internal/hdf5/testdata/hostile_check.py CORPUS IMAGES [FEATURES [DIGEST]]

IMAGES is a small folder of class subfolders (e.g. 2 ants + 2 bees from
hymenoptera). Each file runs as `features -weights FILE -size 64 -o OUT IMAGES`
under /usr/bin/time -v with a 120 s limit. Counted per file:
  panic        "panic:" in stderr          fatal  "fatal error:" in stderr
  hang         killed by the time limit    rss    peak RSS > 2 x file size + 200 MiB
  accepted     exit status 0; then h5py must have read the file (CORPUS/mutations.json)
               and our reader's digest of its weights (h5kerasdigest) must equal h5py's.
Only the standard library is needed here. Prints a summary and exits 1 if any
target is missed.
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    corpus, images = sys.argv[1], sys.argv[2]
    features = sys.argv[3] if len(sys.argv) > 3 else "/tmp/hdf5-features"
    digester = sys.argv[4] if len(sys.argv) > 4 else "/tmp/h5kerasdigest"
    with open(os.path.join(corpus, "mutations.json")) as fh:
        muts = json.load(fh)["mutations"]
    bad = {"panic": [], "fatal": [], "hang": [], "rss": [], "accepted_h5py_refused": [], "accepted_values_differ": []}
    accepted = refused = 0
    kinds = {}  # kind -> [files, accepted by features, read by h5py]
    max_rss_ratio = 0.0
    max_rss = 0
    with tempfile.TemporaryDirectory() as out:
        for m in muts:
            path = os.path.join(corpus, m["name"])
            size = os.path.getsize(path)
            cmd = ["/usr/bin/time", "-v", "timeout", "120", features, "-weights", path, "-size", "64",
                   "-o", os.path.join(out, "f.npy"), images]
            r = subprocess.run(cmd, capture_output=True, text=True)
            err = r.stderr
            rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
            status = int(re.search(r"Exit status: (\d+)", err).group(1)) if "Exit status" in err else r.returncode
            limit = 2 * size + 200 * 2**20
            max_rss = max(max_rss, rss_kb * 1024)
            max_rss_ratio = max(max_rss_ratio, rss_kb * 1024 / limit)
            if "panic:" in err:
                bad["panic"].append(m["name"])
            if "fatal error:" in err:
                bad["fatal"].append(m["name"])
            if status == 124:
                bad["hang"].append(m["name"])
            if rss_kb * 1024 > limit:
                bad["rss"].append(m["name"])
            k = kinds.setdefault(m["kind"], [0, 0, 0])
            k[0] += 1
            k[2] += m["h5py"]["ok"]
            if status == 0:
                k[1] += 1
                accepted += 1
                if not m["h5py"]["ok"]:
                    bad["accepted_h5py_refused"].append(m["name"])
                else:
                    d = subprocess.run([digester, path], capture_output=True, text=True).stdout.split()
                    if not d or d[0] != m["h5py"]["digest"]:
                        bad["accepted_values_differ"].append(m["name"])
            else:
                refused += 1
    h5ok = sum(1 for m in muts if m["h5py"]["ok"])
    print("files %d (h5py reads %d): features accepted %d, refused %d" % (len(muts), h5ok, accepted, refused))
    print("peak RSS max %.1f MiB; max ratio to the 2 x size + 200 MiB limit %.3f" % (max_rss / 2**20, max_rss_ratio))
    for kind, (n, acc, ok) in sorted(kinds.items()):
        print("  %-9s %3d files: features accepted %3d, h5py reads %3d" % (kind, n, acc, ok))
    for k, v in bad.items():
        print("%-24s %d %s" % (k, len(v), " ".join(v[:10])))
    return 1 if any(bad.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
