package bench_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gotransfer/gotransfer/kernels"
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
// FLOPs per call. Levels the CPU lacks are skipped.
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
					c := make([]float32, s.m*s.n)
					run := func() {
						kernels.Sgemm(false, false, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0, c, s.n)
					}
					if level == "gonum" {
						run = func() {
							gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0, c, s.n)
						}
					}
					run() // warm-up: packing buffers and workers
					b.ResetTimer()
					for b.Loop() {
						run()
					}
					flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		})
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	return x
}
