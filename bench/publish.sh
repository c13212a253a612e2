#!/usr/bin/env bash
# Runs, back to back in one session, every benchmark behind README's performance table and the
# peers (../shared/bench/peers.sh: OpenBLAS and PyTorch on this machine), so ratios compare
# figures measured minutes apart on the same host. About 17 minutes on 2 cores.
# Usage: bash bench/publish.sh [OUTDIR]     (from the repository root)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/bench/results}"
mkdir -p "$out"
cd "$root"
go test -c -o "$out/bench.test" ./bench/
run() { # name, then go test flags; $ENV_PREFIX (e.g. GOTRANSFER_CONV=direct) goes in front
  local name=$1; shift
  echo "== $name: ${ENV_PREFIX:-} go test ./bench/ $*" | tee -a "$out/summary.txt"
  (cd bench && env ${ENV_PREFIX:-} "$out/bench.test" -test.run '^$' "$@") | tee "$out/$name.txt" | { grep -E "^Benchmark" || true; } | tee -a "$out/summary.txt"
}
: > "$out/summary.txt"
# peak_flops.c runs a zmm loop unconditionally, and the AVX-512 head-to-head needs the level:
# on a host without AVX-512 both are skipped and the SGEMM rows cover the levels it has.
if grep -qw avx512f /proc/cpuinfo; then top=avx512; else top=avx2; fi
peak() {
  if [ "$top" = avx512 ]; then
    echo "== FMA peak $1 the benchmarks (../shared/bench/peak_flops.c)" | tee -a "$out/summary.txt"
    "$out/peak_flops" 5 0.5 | grep -E "FMA" | tee -a "$out/summary.txt"
  else
    echo "== no AVX-512 on this host: peak_flops.c (a zmm loop) cannot run here" | tee -a "$out/summary.txt"
  fi
}
[ "$top" = avx512 ] && gcc -O2 -mavx512f -mfma -pthread -o "$out/peak_flops" "$root/../shared/bench/peak_flops.c"
peak before
run sgemm -test.bench '^BenchmarkSgemm$/(avx512|avx2|gonum)/' -test.benchtime 2s -test.benchmem
run vgg16fwd -test.bench 'VGG16Forward/224/batch16$' -test.benchtime 3x -test.benchmem
run finetune -test.bench 'FineTuneStep/' -test.benchtime 5x -test.benchmem
run vgg16fwd_1thread -test.bench 'VGG16Forward/224/batch16$' -test.benchtime 2x -test.cpu 1
run finetune_1thread -test.bench 'FineTuneStep/head' -test.benchtime 3x -test.cpu 1
ENV_PREFIX=GOTRANSFER_CONV=direct run conv_direct -test.bench '^BenchmarkConv2D$/.*/(fwd|bwd|sgemm)/batch1$' -test.benchtime 100x -test.count 3
run conv_auto -test.bench '^BenchmarkConv2D$/block(1_conv2|3_conv2|5_conv2)/(fwd|bwd)/batch16$' -test.benchtime 2x
peak after
echo "== OpenBLAS SGEMM, every shape, 2 threads (../shared/bench/sgemm_openblas.py)" | tee -a "$out/summary.txt"
/usr/bin/python3 "$root/../shared/bench/sgemm_openblas.py" --variants default,skylakex --threads 2 --reps 3 2>&1 |
  grep -E "GFLOP|gflop|variant" | tee -a "$out/summary.txt" || true
echo "== head-to-head: ours then OpenBLAS SkylakeX, alternating, 3 rounds (2048³ and block5_conv2)" | tee -a "$out/summary.txt"
for round in 1 2 3; do
  (cd bench && "$out/bench.test" -test.run '^$' -test.bench "^BenchmarkSgemm\$/$top/(2048|196)x" -test.benchtime 2s) |
    grep -E "^Benchmark" | tee -a "$out/summary.txt"
  /usr/bin/python3 "$root/../shared/bench/sgemm_openblas.py" --variants skylakex --threads 2 --reps 3 \
    --shapes sq2048,vgg_block5_conv2 2>&1 | grep -E "median" | tee -a "$out/summary.txt" || true
done
echo "== PyTorch's best CPU configurations (../shared/bench/torch_best.py: fp32, channels_last, bf16 autocast)" | tee -a "$out/summary.txt"
/usr/bin/python3 "$root/../shared/bench/torch_best.py" --threads 2 2>&1 | tee -a "$out/summary.txt" || true
echo "== peers" | tee -a "$out/summary.txt"
PEERS_THREADS=2 bash "$root/../shared/bench/peers.sh" | tee "$out/peers.txt" >> "$out/summary.txt"
echo "results in $out/summary.txt"
