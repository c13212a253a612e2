//go:build amd64 && !purego && linux

package kernels

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// threadCPU is the CPU time used so far by the calling OS thread
// (clock_gettime(CLOCK_THREAD_CPUTIME_ID), nanosecond resolution).
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// BenchmarkMicroKernel times one level's micro-kernel alone on packed panels
// (A in L1, 16 B micro-panels in L2, C tiles with a 2112-float stride) and,
// alternating with it in slices of a few milliseconds, the register-only
// FMA peak loop of the same vector width. Both are timed in CPU time of the
// locked thread, so "%peak" stays meaningful on a shared, oversubscribed
// host where wall-clock time is not.
func BenchmarkMicroKernel(b *testing.B) {
	for _, lv := range supported {
		if lv.name == "generic" {
			continue
		}
		for _, kc := range []int{128, 256, 384, 512, 576} {
			b.Run(fmt.Sprintf("%s/kc%d", lv.name, kc), func(b *testing.B) {
				// each sub-benchmark runs on its own goroutine: lock it here
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				const panels, ldc = 16, 2112
				a := alignedFloats(lv.mr * kc)
				bp := alignedFloats(kc * lv.nr * panels)
				c := alignedFloats(lv.mr * ldc)
				for i := range a {
					a[i] = float32(i%7) * 0.25
				}
				for i := range bp {
					bp[i] = float32(i%5) * 0.5
				}
				var pf [3]prefetchPlan
				tileFlops := 2 * float64(lv.mr*lv.nr*kc)
				peak, peakFlops := fmaPeakZmm, 768.0
				if lv.nr == 16 {
					peak, peakFlops = fmaPeakYmm, 192.0
				}
				reps := max(1, int(5e7/(tileFlops*panels))) // ~5e7 FLOPs: a few ms per slice
				peakIters := int(float64(reps) * tileFlops * panels / peakFlops)
				var tk, tp time.Duration
				var nk, np float64
				for b.Loop() {
					t0 := threadCPU()
					for range reps {
						for q := range panels {
							lv.kernel(kc, &a[0], kc, &bp[q*kc*lv.nr], &c[q*lv.nr], ldc, 1, nil, flagBeta, &pf)
						}
					}
					t1 := threadCPU()
					peak(peakIters)
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
