#!/usr/bin/env bash
# One epoch of the classic recipe at 150x150 with augmentation, ours against PyTorch, on a
# cats-vs-dogs-sized job: 1000 training images (5 classes x 200 from
# ../shared/datasets/imagenette_224_subset) and their 400 validation images.
# Usage: bash bench/epoch_compare.sh      (from the repository root; needs python3-torch)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="${EPOCH_DATA:-$root/../shared/datasets/imagenette_224_subset}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
for split in train validation; do
  for cls in $(ls "$src/$split" | sort | head -5); do
    mkdir -p "$work/data/$split"; ln -s "$src/$split/$cls" "$work/data/$split/$cls"
  done
done
threads=${THREADS:-2}
echo "== gotransfer (GOMAXPROCS=$threads)"
(cd "$root" && go build -o "$work/finetune" ./cmd/finetune)
/usr/bin/time -f "go_epoch wall_seconds=%e peak_rss_mib=%M(KiB)" env GOMAXPROCS=$threads \
  "$work/finetune" -data "$work/data" -weights none -size 150 -epochs 1 -augment -batch 16 -out "$work/out" 2>&1 | grep -E "^(Found|Epoch|go_epoch)"
echo "== PyTorch ($threads threads)"
/usr/bin/python3 "$root/bench/torch_finetune_epoch.py" --data "$work/data" --threads "$threads"
