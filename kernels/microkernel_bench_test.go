//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMicroKernel times one level's micro-kernel alone on packed panels
// (A in L1, four B micro-panels) and, interleaved with it in ~1 ms slices,
// the register-only FMA peak loop of the same vector width, so "%peak" stays
// meaningful on a shared, noisy host.
func BenchmarkMicroKernel(b *testing.B) {
	for _, lv := range supported {
		if lv.name == "generic" {
			continue
		}
		for _, kc := range []int{128, 256, 384, 576} {
			b.Run(fmt.Sprintf("%s/kc%d", lv.name, kc), func(b *testing.B) {
				a := alignedFloats(lv.mr * kc)
				bp := alignedFloats(kc * lv.nr * 4)
				c := alignedFloats(lv.mr * 256)
				for i := range a {
					a[i] = float32(i%7) * 0.25
				}
				for i := range bp {
					bp[i] = float32(i%5) * 0.5
				}
				kernelFlops := 2 * float64(lv.mr*lv.nr*kc) * 4
				var tk, tp time.Duration
				var nk, np float64
				peak, peakFlops := fmaPeakZmm, 768.0
				if lv.nr == 16 {
					peak, peakFlops = fmaPeakYmm, 192.0
				}
				for b.Loop() {
					t0 := time.Now()
					for range 100 {
						for q := range 4 {
							lv.kernel(kc, &a[0], kc, &bp[q*kc*lv.nr], &c[q*lv.nr], 256, 1, nil, flagBeta, &[3]prefetchPlan{})
						}
					}
					t1 := time.Now()
					peak(kc * 100)
					t2 := time.Now()
					tk += t1.Sub(t0)
					tp += t2.Sub(t1)
					nk += 100 * kernelFlops
					np += float64(kc*100) * peakFlops
				}
				kg, pg := nk/tk.Seconds()/1e9, np/tp.Seconds()/1e9
				b.ReportMetric(kg, "GFLOP/s")
				b.ReportMetric(pg, "peakGFLOP/s")
				b.ReportMetric(100*kg/pg, "%peak")
			})
		}
	}
}
