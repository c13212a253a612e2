package bench_test

import (
	"fmt"
	"testing"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

// vggConvs are VGG16's 13 convolutions (3×3, stride 1, 'same', ReLU) at a
// 224×224 input: name, input size and channels.
var vggConvs = []struct {
	name      string
	hw        int
	cin, cout int
}{
	{"block1_conv1", 224, 3, 64}, {"block1_conv2", 224, 64, 64},
	{"block2_conv1", 112, 64, 128}, {"block2_conv2", 112, 128, 128},
	{"block3_conv1", 56, 128, 256}, {"block3_conv2", 56, 256, 256}, {"block3_conv3", 56, 256, 256},
	{"block4_conv1", 28, 256, 512}, {"block4_conv2", 28, 512, 512}, {"block4_conv3", 28, 512, 512},
	{"block5_conv1", 14, 512, 512}, {"block5_conv2", 14, 512, 512}, {"block5_conv3", 14, 512, 512},
}

// BenchmarkConv2D times nn.Conv2D on the VGG16 layers, named
// BenchmarkConv2D/<layer>/<fwd|bwd|sgemm>/batch<N>, and reports GFLOP/s at 2
// FLOPs per multiply-add:
//
//   - fwd: Forward(training=true), 2·M·K·cout FLOPs (M = N·H·W output pixels, K = 9·cin);
//   - bwd: Backward computing dKernel, dBias and dx, 2 × 2·M·K·cout FLOPs
//     (dKernel = Aᵀ·dz and the dx GEMM; the ReLU mask and bias sum are not counted);
//   - sgemm: kernels.Sgemm on the same M×K times K×cout product with a
//     materialised A, the rate the implicit GEMM is compared with (batch 1
//     only: batch 16's A would take up to 1.8 GB).
//
// The layer runs after ReuseBuffers, the way a Model runs it: y and dx go
// into buffers kept across calls, as C does in the sgemm case. (Without it
// each call also allocates and page-faults a fresh y, and dx in bwd: 12.8 MB
// each at block1 batch 1, a few ms.)
//
// Batch 16 runs for every layer; use -benchtime=1x to keep it short, e.g.
//
//	go test -run '^$' -bench 'Conv2D/.*/batch1$' ./bench/
//	go test -run '^$' -bench 'Conv2D/.*/batch16$' -benchtime=1x ./bench/
func BenchmarkConv2D(b *testing.B) {
	rng := tensor.NewRNG(1)
	for _, l := range vggConvs {
		b.Run(l.name, func(b *testing.B) {
			for _, batch := range []int{1, 16} {
				M, K := batch*l.hw*l.hw, 9*l.cin
				flops := 2 * float64(M) * float64(K) * float64(l.cout)
				conv := nn.NewConv2D(l.name, 3, 3, l.cin, l.cout, nn.ConvOptions{Padding: "same", ReLU: true})
				nn.InitParams(conv, rng)
				conv.ReuseBuffers() // y and dx written into kept buffers, as inside a Model
				var x, y, dy *tensor.Tensor
				setup := func() {
					if x == nil {
						x = tensor.New(batch, l.hw, l.hw, l.cin)
						tensor.Uniform(x, 0, 1, rng)
						y = conv.Forward(x, true)
						dy = tensor.New(y.Shape...)
						tensor.Normal(dy, 0, 1, rng)
					}
				}
				b.Run(fmt.Sprintf("fwd/batch%d", batch), func(b *testing.B) {
					setup()
					for b.Loop() {
						y = conv.Forward(x, true)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
				b.Run(fmt.Sprintf("bwd/batch%d", batch), func(b *testing.B) {
					setup()
					conv.Forward(x, true)
					conv.Backward(dy) // warm-up: scratch buffers
					b.ResetTimer()
					for b.Loop() {
						conv.Backward(dy)
					}
					b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
				if batch == 1 {
					b.Run(fmt.Sprintf("sgemm/batch%d", batch), func(b *testing.B) {
						a := tensor.New(M, K)
						tensor.Uniform(a, 0, 1, rng)
						c := tensor.Floats(M * l.cout)
						w := conv.Kernel.Value.Data
						kernels.Sgemm(false, false, M, l.cout, K, 1, a.Data, K, w, l.cout, 0, c, l.cout)
						b.ResetTimer()
						for b.Loop() {
							kernels.Sgemm(false, false, M, l.cout, K, 1, a.Data, K, w, l.cout, 0, c, l.cout)
						}
						b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
				x, y, dy = nil, nil, nil
			}
		})
	}
}
