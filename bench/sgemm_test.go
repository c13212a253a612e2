//go:build unix

package bench_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// sgemmShapes are the benchmarked C = A·B products (m×k times k×n): squares,
// and the im2col GEMMs of VGG16 at 224×224, batch 1 (m = output pixels,
// n = output channels, k = 3·3·input channels).
var sgemmShapes = []struct{ m, n, k int }{
	{256, 256, 256},
	{512, 512, 512},
	{1024, 1024, 1024},
	{2048, 2048, 2048},
	{50176, 64, 576},  // block1_conv2
	{3136, 256, 2304}, // block3_conv2
	{196, 512, 4608},  // block5_conv2
}

// BenchmarkSgemm runs C = A·B (no transposes, alpha 1, beta 0, all of
// GOMAXPROCS) for every kernel level and gonum's native Sgemm, named
// BenchmarkSgemm/<level>/<m>x<n>x<k>, and reports GFLOP/s counting 2·m·n·k
// FLOPs per call, and GFLOP/cpu-s (see reportFlops). Levels the CPU lacks
// are skipped.
func BenchmarkSgemm(b *testing.B) {
	prev := kernels.Level()
	defer kernels.SetLevel(prev)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, level := range []string{"generic", "avx2", "avx512", "gonum"} {
		b.Run(level, func(b *testing.B) {
			if level != "gonum" {
				if !slices.Contains(kernels.Levels(), level) {
					b.Skipf("kernel level %s not supported on this CPU", level)
				}
				if err := kernels.SetLevel(level); err != nil {
					b.Fatal(err)
				}
			}
			for _, s := range sgemmShapes {
				b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
					a := randSlice(rng, s.m*s.k)
					bm := randSlice(rng, s.k*s.n)
					c := tensor.Floats(s.m * s.n)
					run := func() {
						kernels.Sgemm(false, false, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0, c, s.n)
					}
					if level == "gonum" {
						run = func() {
							gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0, c, s.n)
						}
					}
					reportFlops(b, 2*float64(s.m)*float64(s.n)*float64(s.k), run)
				})
			}
		})
	}
}

// transAShapes are conv weight-gradient products dW (K×Cout) = Aᵀ·dY with
// A the im2col matrix (rows × K, so op(A) is transposed): VGG16
// block1_conv2 at 224×224 batch 1 (all 50176 rows in one call), and a
// block5 conv at 150×150 batch 16 as nn's kernelGrad tiles it (227 rows per
// call for K = 4608).
var transAShapes = []struct{ m, n, k int }{
	{576, 64, 50176},
	{4608, 512, 227},
}

// BenchmarkSgemmTransA runs C = Aᵀ·B for the transAShapes, named
// BenchmarkSgemmTransA/<level>/<m>x<n>x<k>, reporting GFLOP/s and
// GFLOP/cpu-s like BenchmarkSgemm.
func BenchmarkSgemmTransA(b *testing.B) {
	prev := kernels.Level()
	defer kernels.SetLevel(prev)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, level := range []string{"avx2", "avx512"} {
		b.Run(level, func(b *testing.B) {
			if !slices.Contains(kernels.Levels(), level) {
				b.Skipf("kernel level %s not supported on this CPU", level)
			}
			if err := kernels.SetLevel(level); err != nil {
				b.Fatal(err)
			}
			for _, s := range transAShapes {
				b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
					a := randSlice(rng, s.k*s.m) // stored k×m
					bm := randSlice(rng, s.k*s.n)
					c := tensor.Floats(s.m * s.n)
					run := func() { kernels.Sgemm(true, false, s.m, s.n, s.k, 1, a, s.m, bm, s.n, 0, c, s.n) }
					reportFlops(b, 2*float64(s.m)*float64(s.n)*float64(s.k), run)
				})
			}
		})
	}
}

// convShapes are VGG16's conv layers at 224×224, batch 1, whose im2col
// products are the VGG rows of sgemmShapes: input h×w×cin, 3×3 kernel,
// "same" padding, cout filters.
var convShapes = []struct {
	name            string
	h, w, cin, cout int
}{
	{"block1_conv2", 224, 224, 64, 64},
	{"block3_conv2", 56, 56, 256, 256},
	{"block5_conv2", 14, 14, 512, 512},
}

// im2colRows returns the RowSource of the implicit im2col matrix of a 3×3,
// stride-1, "same"-padded convolution over one NHWC image: row i is output
// pixel (i/w, i%w), column p = (kh·3 + kw)·cin + c, as the Keras kernel
// (kh, kw, cin, cout) flattens to (9·cin) × cout.
func im2colRows(in []float32, h, w, cin int) func(dst []float32, i, p0, kc int) {
	return func(dst []float32, i, p0, kc int) {
		oy, ox := i/w, i%w
		for p := p0; p < p0+kc; {
			tap, c0 := p/cin, p%cin
			run := min(cin-c0, p0+kc-p)
			iy, ix := oy+tap/3-1, ox+tap%3-1
			out := dst[p-p0 : p-p0+run]
			if iy < 0 || iy >= h || ix < 0 || ix >= w {
				clear(out)
			} else {
				copy(out, in[(iy*w+ix)*cin+c0:])
			}
			p += run
		}
	}
}

// BenchmarkSgemmRowsConv runs a convolution layer's forward pass as the
// implicit GEMM SgemmRowsBiasReLU (im2col rows packed on the fly, bias and
// ReLU fused), named BenchmarkSgemmRowsConv/<level>/<layer>, reporting
// GFLOP/s (2·m·n·k per call).
func BenchmarkSgemmRowsConv(b *testing.B) {
	prev := kernels.Level()
	defer kernels.SetLevel(prev)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, level := range []string{"generic", "avx2", "avx512"} {
		b.Run(level, func(b *testing.B) {
			if !slices.Contains(kernels.Levels(), level) {
				b.Skipf("kernel level %s not supported on this CPU", level)
			}
			if err := kernels.SetLevel(level); err != nil {
				b.Fatal(err)
			}
			for _, s := range convShapes {
				b.Run(s.name, func(b *testing.B) {
					m, n, k := s.h*s.w, s.cout, 9*s.cin
					in := randSlice(rng, s.h*s.w*s.cin)
					kernel := randSlice(rng, k*n)
					bias := randSlice(rng, n)
					out := tensor.Floats(m * n)
					rows := im2colRows(in, s.h, s.w, s.cin)
					run := func() { kernels.SgemmRowsBiasReLU(m, n, k, rows, kernel, n, bias, true, out, n) }
					reportFlops(b, 2*float64(m)*float64(n)*float64(k), run)
				})
			}
		})
	}
}

// reportFlops times run in a b.Loop and reports GFLOP/s (wall clock) and
// GFLOP/cpu-s: FLOPs per second of CPU time the process used (user + system,
// all threads). On a quiet machine GFLOP/s ≈ GFLOP/cpu-s × busy threads; on
// a shared, oversubscribed host wall-clock GFLOP/s drops with the CPU share
// the benchmark gets, while GFLOP/cpu-s still shows the kernels' efficiency.
//
// It first warms up (packing buffers, worker goroutines, the runtime's
// per-thread caches): up to 3 calls, stopping after 200 ms.
func reportFlops(b *testing.B, flopsPerOp float64, run func()) {
	for i, t0 := 0, time.Now(); i < 3 && (i == 0 || time.Since(t0) < 200*time.Millisecond); i++ {
		run()
	}
	c0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	cpu := cpuTime() - c0
	total := flopsPerOp * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(total/cpu.Seconds()/1e9, "GFLOP/cpu-s")
}

// cpuTime is the CPU time (user + system) used so far by this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := tensor.Floats(n)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	return x
}
