//go:build amd64 && !purego && linux

package kernels

import (
	"fmt"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gotransfer/gotransfer/kernels/internal/peak"
)

// threadCPU is the CPU time used so far by the calling OS thread
// (clock_gettime(CLOCK_THREAD_CPUTIME_ID), nanosecond resolution).
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// benchPanels returns aligned A and B panels of na and nb floats holding
// small non-zero values.
func benchPanels(na, nb int) (a, b []float32) {
	a, b = alignedFloats(na), alignedFloats(nb)
	for i := range a {
		a[i] = float32(i%7) * 0.25
	}
	for i := range b {
		b[i] = float32(i%5) * 0.5
	}
	return a, b
}

// BenchmarkMicroKernel times one level's micro-kernel alone on packed panels
// (A in L1, 16 B micro-panels in L2, C tiles with a 2112-float stride) and,
// alternating with it in slices of a few milliseconds, the register-only
// FMA peak loop of the same vector width. Both are timed in CPU time of the
// locked thread, so "%peak" stays meaningful on a shared, oversubscribed
// host where wall-clock time is not. The "long" variant at kc = 512 runs
// slices of about 100 ms each, long enough for the core's clock to settle
// on each loop. On the project's machine (-benchtime 40x, 3 runs) the
// kernel, streaming its 1 MiB of B panels from L2, does 188–207 GFLOP per
// CPU-second in short and long slices alike, while the FMA loop goes from
// 196–209 in short slices to 231–234 in long ones: 96–98 % of the loop,
// then 84–88 %. BenchmarkKernelSustained shows the same drop with
// everything in L1, so the sustained loss is the core's clock, not L2.
func BenchmarkMicroKernel(b *testing.B) {
	type variant struct {
		kc    int
		flops float64 // FLOPs of kernel calls per slice
		name  string
	}
	variants := []variant{{128, 5e7, ""}, {256, 5e7, ""}, {384, 5e7, ""}, {512, 5e7, ""}, {576, 5e7, ""}, {512, 2e10, "/long"}}
	for _, lv := range supported {
		if lv.name == "generic" {
			continue
		}
		for _, v := range variants {
			kc := v.kc
			b.Run(fmt.Sprintf("%s/kc%d%s", lv.name, kc, v.name), func(b *testing.B) {
				// each sub-benchmark runs on its own goroutine: lock it here
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				const panels, ldc = 16, 2112
				a, bp := benchPanels(lv.mr*kc, kc*lv.nr*panels)
				c := alignedFloats(lv.mr * ldc)
				var aux kernelAux
				tileFlops := 2 * float64(lv.mr*lv.nr*kc)
				peakLoop, peakFlops := peak.FMAPeakZmm, 768.0
				if lv.nr == 16 {
					peakLoop, peakFlops = peak.FMAPeakYmm, 192.0
				}
				reps := max(1, int(v.flops/(tileFlops*panels))) // 5e7 FLOPs: a few ms per slice
				peakIters := int(float64(reps) * tileFlops * panels / peakFlops)
				var tk, tp time.Duration
				var nk, np float64
				for b.Loop() {
					t0 := threadCPU()
					for range reps {
						for q := range panels {
							lv.kernel(kc, &a[0], kc, &bp[q*kc*lv.nr], &c[q*lv.nr], ldc, 1, nil, flagBeta, &aux)
						}
					}
					t1 := threadCPU()
					peakLoop(peakIters)
					t2 := threadCPU()
					tk += t1 - t0
					tp += t2 - t1
					nk += float64(reps) * tileFlops * panels
					np += float64(peakIters) * peakFlops
				}
				kg, pg := nk/tk.Seconds()/1e9, np/tp.Seconds()/1e9
				b.ReportMetric(kg, "GFLOP/cpu-s")
				b.ReportMetric(pg, "peakGFLOP/cpu-s")
				b.ReportMetric(100*kg/pg, "%peak")
			})
		}
	}
}

// BenchmarkSerialVsPeak times a whole single-threaded SGEMM (SgemmSerial,
// row-major, lda = ldb = ldc = n, or padded by one cache line) alternating
// with the FMA peak loop on the same locked thread, both in thread CPU time:
// "%peak" is the full SGEMM's share of the peak at the clock the core ran
// during the measurement, which tells the driver's losses (packing, cache
// and TLB misses) from the micro-kernel's.
func BenchmarkSerialVsPeak(b *testing.B) {
	lv := active.Load()
	if lv.name != "avx512" {
		b.Skip("AVX-512 level only")
	}
	for _, sh := range []struct{ m, n, k, pad int }{
		{2048, 2048, 2048, 0}, {2048, 2048, 2048, 16}, {196, 512, 4608, 0}, {1024, 1024, 1024, 0},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d/pad%d", sh.m, sh.n, sh.k, sh.pad), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			lda, ldb, ldc := sh.k+sh.pad, sh.n+sh.pad, sh.n+sh.pad
			a, bm, c := make([]float32, sh.m*lda), make([]float32, sh.k*ldb), make([]float32, sh.m*ldc)
			for i := range a {
				a[i] = float32(i%7) * 0.25
			}
			for i := range bm {
				bm[i] = float32(i%5) * 0.5
			}
			flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
			SgemmSerial(false, false, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, ldc)
			peakIters := int(flops / 768)
			var tk, tp time.Duration
			for b.Loop() {
				t0 := threadCPU()
				SgemmSerial(false, false, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, ldc)
				t1 := threadCPU()
				peak.FMAPeakZmm(peakIters)
				tk += t1 - t0
				tp += threadCPU() - t1
			}
			b.ReportMetric(flops*float64(b.N)/tk.Seconds()/1e9, "GFLOP/cpu-s")
			b.ReportMetric(100*tp.Seconds()/tk.Seconds(), "%peak")
		})
	}
}

// BenchmarkKernelSustained runs the AVX-512 micro-kernel on panels that sit
// in L1 (kc = 128, one B micro-panel, one C tile) alternating with the
// register-only FMA loop, in slices of 0.25 ms, 4 ms and 100 ms of each,
// both timed in thread CPU time; it reports each one's GFLOP/cpu-s and the
// ratio. With no cache misses possible, the ratio shows the micro-kernel's
// ceiling against the FMA peak loop when both run long enough for the
// core's clock to settle on each. On the project's machine (five runs) the
// FMA loop speeds up by 12–17 % from 0.25 ms to 100 ms slices while the
// micro-kernel speeds up by 3–10 %: 96–98 % of the peak loop in short
// slices, 86–94 % in long ones. So a sustained SGEMM, which cannot beat its
// micro-kernel on L1-resident data, tops out near 90 % of peak_flops.c.
func BenchmarkKernelSustained(b *testing.B) {
	lv := active.Load()
	if lv.name != "avx512" {
		b.Skip("AVX-512 level only")
	}
	const kc = 128
	for _, ms := range []float64{0.25, 4, 100} {
		b.Run(fmt.Sprintf("slice%gms", ms), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			a, bp := benchPanels(lv.mr*kc, kc*lv.nr)
			c := alignedFloats(lv.mr * lv.nr)
			var aux kernelAux
			tileFlops := 2 * float64(lv.mr*lv.nr*kc)
			calls := max(1, int(ms*1e-3*200e9/tileFlops)) // ~ms at 200 GFLOP/s
			peakIters := int(float64(calls) * tileFlops / 768)
			var tk, tp time.Duration
			for b.Loop() {
				t0 := threadCPU()
				for range calls {
					lv.kernel(kc, &a[0], kc, &bp[0], &c[0], lv.nr, 1, nil, flagBeta, &aux)
				}
				t1 := threadCPU()
				peak.FMAPeakZmm(peakIters)
				tk += t1 - t0
				tp += threadCPU() - t1
			}
			flops := float64(b.N) * float64(calls) * tileFlops
			b.ReportMetric(flops/tk.Seconds()/1e9, "kernelGFLOP/cpu-s")
			b.ReportMetric(flops/tp.Seconds()/1e9, "peakGFLOP/cpu-s")
			b.ReportMetric(100*tp.Seconds()/tk.Seconds(), "%peak")
		})
	}
}

// BenchmarkLoadCeiling alternates the register-only FMA loop with the same
// 24 FMAs fed by the micro-kernel's loads (two zmm loads and twelve
// broadcasts per 24 FMAs, all L1 hits: no miss, prefetch, C tile or
// branch besides the loop's), in slices of 2 ms and 100 ms, both timed in
// thread CPU time. It asks whether a load-bearing FMA loop can sustain the
// FMA peak at all. On the project's machine (5 runs × 20 slices) it reaches
// 95–101 % of the FMA loop in 2 ms slices but 90–94 % in 100 ms slices
// (198–219 against 220–234 GFLOP/cpu-s): sustained, the loads alone cost
// 6–10 % of peak before any cache miss, leaving 0–4 points for everything
// else a GEMM does (prefetches, C tiles, packing, misses) if it is to
// sustain 90 % of peak_flops.c here. (A 8×48 load pattern, 11 loads per
// 24 FMAs instead of 14, measured 93–94 %.)
func BenchmarkLoadCeiling(b *testing.B) {
	if !slices.ContainsFunc(supported, func(lv *kernelLevel) bool { return lv.name == "avx512" }) {
		b.Skip("no AVX-512 on this CPU")
	}
	for _, ms := range []float64{2, 100} {
		b.Run(fmt.Sprintf("slice%gms", ms), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			x := alignedFloats(64)
			for i := range x {
				x[i] = 1e-3
			}
			iters := max(1, int(ms*1e-3*230e9/768)) // ~ms at 230 GFLOP/s
			var tl, tp time.Duration
			for b.Loop() {
				t0 := threadCPU()
				peak.FMALoadPeakZmm(iters, &x[0], &x[32])
				t1 := threadCPU()
				peak.FMAPeakZmm(iters)
				t2 := threadCPU()
				tl += t1 - t0
				tp += t2 - t1
			}
			flops := float64(b.N) * float64(iters) * 768
			b.ReportMetric(flops/tl.Seconds()/1e9, "loadGFLOP/cpu-s")
			b.ReportMetric(flops/tp.Seconds()/1e9, "peakGFLOP/cpu-s")
			b.ReportMetric(100*tp.Seconds()/tl.Seconds(), "%peak")
		})
	}
}
