//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TUNE="avx512:m,n,k;..." TUNE_KC=.. TUNE_BP=..
func TestTuneLocal(t *testing.T) {
	spec := os.Getenv("TUNE")
	if spec == "" {
		t.Skip()
	}
	for _, lv := range supported {
		if v, _ := strconv.Atoi(os.Getenv("TUNE_KC")); v > 0 {
			lv.kcMax = v
		}
		if v, _ := strconv.Atoi(os.Getenv("TUNE_BP")); v > 0 {
			lv.bPanel = v
		}
	}
	for _, item := range strings.Split(spec, ";") {
		parts := strings.Split(item, ":")
		if parts[0] == "peak" {
			c0 := cpuTime()
			fmaPeakZmm(20000000)
			fmt.Printf("peak zmm per-cpu-sec %.1f\n", 768*20e6/(cpuTime()-c0).Seconds()/1e9)
			continue
		}
		if parts[0] == "micro" {
			lv := avx512Level
			kc, _ := strconv.Atoi(parts[1])
			a := alignedFloats(lv.mr * kc)
			bp := alignedFloats(kc * lv.nr * 4)
			cc := alignedFloats(lv.mr * 256)
			c0 := cpuTime()
			reps := 200000 * 128 / kc
			for range reps {
				for q := range 4 {
					lv.kernel(kc, &a[0], kc, &bp[q*kc*lv.nr], &cc[q*lv.nr], 256, 1, nil, flagBeta, &[3]prefetchPlan{})
				}
			}
			fmt.Printf("micro kc=%d per-cpu-sec %.1f\n", kc, float64(reps)*4*2*14*32*float64(kc)/(cpuTime()-c0).Seconds()/1e9)
			continue
		}
		SetLevel(parts[0])
		var m, n, k int
		fmt.Sscanf(parts[1], "%d,%d,%d", &m, &n, &k)
		a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for i := range a {
			a[i] = float32(i%13) * 0.1
		}
		for i := range b {
			b[i] = float32(i%7) * 0.1
		}
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		reps := max(1, int(3e9/(2*float64(m*n*k))))
		best := 0.0
		var sumCPU, sumWall time.Duration
		for range 3 {
			c0, w0 := cpuTime(), time.Now()
			for range reps {
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
			}
			dc, dw := cpuTime()-c0, time.Since(w0)
			sumCPU += dc
			sumWall += dw
			g := 2 * float64(m*n*k) * float64(reps) / dw.Seconds() / 1e9
			best = max(best, g)
		}
		fl := 2 * float64(m*n*k) * float64(reps) * 3
		fmt.Printf("%-8s %5dx%5dx%5d  wallbest %6.1f  wallavg %6.1f  per-cpu-sec %6.1f GFLOP/s\n", parts[0], m, n, k, best, fl/sumWall.Seconds()/1e9, fl/sumCPU.Seconds()/1e9)
	}
}
