package winograd

import (
	"fmt"
	"testing"
	"time"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// Benchmarks at VGG16's 224x224 shapes. GFLOP/s is "effective": the direct
// convolution's 2·N·H·W·9·Cin·Cout FLOPs divided by the time, so Winograd
// and im2col figures compare directly (Winograd does 2.25x (F2) or 4x (F4)
// fewer multiplications in its GEMMs).
//
//	go test -run '^$' -bench . -benchtime 3x ./internal/winograd/
//
// Besides wall-clock GFLOP/s each benchmark reports GFLOP/cpu-s: the same
// FLOPs divided by the process CPU time (all threads), i.e. the per-core
// rate. On this shared 2-vCPU host other jobs often steal the cores; the
// CPU-time figure is then the trustworthy one, and with an idle host
// wall GFLOP/s ≈ GFLOP/cpu-s × GOMAXPROCS.
//
// batch16Layers are the layers also run at batch 16.
var batch16Layers = map[string]bool{"block1_conv2": true, "block3_conv2": true, "block5_conv2": true}

func convFlops(n int, l vggLayer) float64 {
	return 2 * float64(n*l.size*l.size*9*l.cin*l.cout)
}

// BenchmarkWinograd/<layer>/<F2|F4>/batch<N>: one Plan.Forward with bias and
// ReLU (the kernel transform is built once, outside the timing).
func BenchmarkWinograd(b *testing.B) {
	rng := tensor.NewRNG(1)
	for _, l := range vgg16 {
		for _, v := range variants {
			for _, n := range []int{1, 16} {
				if n == 16 && !batch16Layers[l.name] {
					continue
				}
				b.Run(fmt.Sprintf("%s/%v/batch%d", l.name, v, n), func(b *testing.B) {
					x := reluRandn(n*l.size*l.size*l.cin, rng)
					y := make([]float32, n*l.size*l.size*l.cout)
					p := NewPlan(heKernel(l.cin, l.cout, rng), l.cin, l.cout, v)
					bias := randn(l.cout, 0.1, rng)
					p.Forward(x, n, l.size, l.size, bias, true, y) // warm-up: buffers
					b.ReportAllocs()
					b.ResetTimer()
					c0 := processCPUTime()
					for i := 0; i < b.N; i++ {
						p.Forward(x, n, l.size, l.size, bias, true, y)
					}
					reportRates(b, convFlops(n, l)*float64(b.N), processCPUTime()-c0)
				})
			}
		}
	}
}

// BenchmarkIm2col/<layer>/batch<N> is the direct path on the same shapes:
// per image, build the (H·W)×(9·Cin) patch matrix and call kernels.Sgemm
// (M = H·W, N = Cout, K = 9·Cin), then add bias and ReLU.
func BenchmarkIm2col(b *testing.B) {
	rng := tensor.NewRNG(1)
	for _, l := range vgg16 {
		for _, n := range []int{1, 16} {
			if n == 16 && !batch16Layers[l.name] {
				continue
			}
			b.Run(fmt.Sprintf("%s/batch%d", l.name, n), func(b *testing.B) {
				hw := l.size * l.size
				x := reluRandn(n*hw*l.cin, rng)
				y := make([]float32, n*hw*l.cout)
				k := heKernel(l.cin, l.cout, rng)
				bias := randn(l.cout, 0.1, rng)
				col := make([]float32, hw*9*l.cin)
				b.ResetTimer()
				c0 := processCPUTime()
				for i := 0; i < b.N; i++ {
					for img := 0; img < n; img++ {
						im2colForward(x[img*hw*l.cin:(img+1)*hw*l.cin], l.size, l.size, l.cin, k, l.cout, bias, col, y[img*hw*l.cout:(img+1)*hw*l.cout])
					}
				}
				reportRates(b, convFlops(n, l)*float64(b.N), processCPUTime()-c0)
			})
		}
	}
}

// reportRates reports flops as wall GFLOP/s and per-CPU-second GFLOP/cpu-s.
func reportRates(b *testing.B, flops float64, cpu time.Duration) {
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(flops/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}

// im2colForward is one image of the direct path: col[p][(kh*3+kw)*cin+ci] =
// x[py+kh-1][px+kw-1][ci] (0 outside), y = col·kernel + bias, ReLU. The Keras
// kernel (3,3,cin,cout) is already the (9·cin)×cout matrix.
func im2colForward(x []float32, h, w, cin int, kernel []float32, cout int, bias, col, y []float32) {
	k9 := 9 * cin
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			row := col[(py*w+px)*k9 : (py*w+px+1)*k9]
			for kh := 0; kh < 3; kh++ {
				for kw := 0; kw < 3; kw++ {
					dst := row[(kh*3+kw)*cin : (kh*3+kw+1)*cin]
					iy, ix := py+kh-1, px+kw-1
					if iy < 0 || iy >= h || ix < 0 || ix >= w {
						clear(dst)
						continue
					}
					copy(dst, x[(iy*w+ix)*cin:])
				}
			}
		}
	}
	kernels.Sgemm(false, false, h*w, cout, k9, 1, col, k9, kernel, cout, 0, y, cout)
	for p := 0; p < h*w; p++ {
		out := y[p*cout : (p+1)*cout]
		for c := range out {
			out[c] = max(out[c]+bias[c], 0)
		}
	}
}

// BenchmarkVGG16ConvStack/<F2|F4|im2col>/batch<N>: the 13 convolutions of
// VGG16 at 224x224 back to back (each on its own input size; pooling is
// excluded), reported as img/s and effective GFLOP/s (30.70 GFLOP/image).
func BenchmarkVGG16ConvStack(b *testing.B) {
	rng := tensor.NewRNG(1)
	total := 0.0
	for _, l := range vgg16 {
		total += convFlops(1, l)
	}
	for _, n := range []int{1, 16} {
		for _, method := range []string{"F2", "F4", "im2col"} {
			b.Run(fmt.Sprintf("%s/batch%d", method, n), func(b *testing.B) {
				maxAct := 0
				for _, l := range vgg16 {
					maxAct = max(maxAct, l.size*l.size*max(l.cin, l.cout))
				}
				x := reluRandn(n*maxAct, rng)
				y := make([]float32, n*maxAct)
				var plans []*Plan
				var ks, biases [][]float32
				for _, l := range vgg16 {
					k := heKernel(l.cin, l.cout, rng)
					ks = append(ks, k)
					biases = append(biases, randn(l.cout, 0.1, rng))
					switch method {
					case "F2":
						plans = append(plans, NewPlan(k, l.cin, l.cout, F2))
					case "F4":
						plans = append(plans, NewPlan(k, l.cin, l.cout, F4))
					}
				}
				var col []float32
				if method == "im2col" {
					col = make([]float32, 224*224*9*64)
				}
				run := func() {
					for li, l := range vgg16 {
						hw := l.size * l.size
						xs, ys := x[:n*hw*l.cin], y[:n*hw*l.cout]
						if plans != nil {
							plans[li].Forward(xs, n, l.size, l.size, biases[li], true, ys)
							continue
						}
						for img := 0; img < n; img++ {
							im2colForward(xs[img*hw*l.cin:(img+1)*hw*l.cin], l.size, l.size, l.cin, ks[li], l.cout, biases[li], col[:hw*9*l.cin], ys[img*hw*l.cout:(img+1)*hw*l.cout])
						}
					}
				}
				run()
				b.ResetTimer()
				c0 := processCPUTime()
				for i := 0; i < b.N; i++ {
					run()
				}
				reportRates(b, total*float64(n*b.N), processCPUTime()-c0)
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
			})
		}
	}
}

// BenchmarkKernelTransform/<F2|F4>/512x512: the lazy U = G g Gᵀ that the
// first Forward after SetKernel does (a trainable or plan-sharing layer pays
// it every step).
func BenchmarkKernelTransform(b *testing.B) {
	rng := tensor.NewRNG(1)
	const cin, cout = 512, 512
	k := heKernel(cin, cout, rng)
	for _, v := range variants {
		b.Run(fmt.Sprintf("%v/%dx%d", v, cin, cout), func(b *testing.B) {
			p := NewPlan(k, cin, cout, v)
			u := p.transform(nil, k, cin, cout)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				u = p.transform(u, k, cin, cout)
			}
		})
	}
}
