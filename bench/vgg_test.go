package bench_test

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/optim"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// vgg16ConvFLOPs is the exact conv FLOP count (2 per multiply-add) of VGG16's
// 13 convolutions for one size×size image, with pooling floors: 30.70 GFLOP at
// 224, 13.23 at 150 (the convention of ../shared/bench/RESULTS.md).
func vgg16ConvFLOPs(size int) float64 {
	h, cin, flops := size, 3, 0.0
	for b, convs := range [5]int{2, 2, 3, 3, 3} {
		cout := [5]int{64, 128, 256, 512, 512}[b]
		for range convs {
			flops += 2 * float64(h*h) * 9 * float64(cin*cout)
			cin = cout
		}
		h /= 2
	}
	return flops
}

// peakRSSMiB is the process's peak resident set size. It describes one
// benchmark only when that benchmark runs alone in its process
// (-bench 'VGG16Forward/224/batch16$').
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func randomBatch(n, size int, seed uint64) *tensor.Tensor {
	x := tensor.New(n, size, size, 3)
	tensor.Uniform(x, 0, 255, tensor.NewRNG(seed))
	if err := vgg.PreprocessInput(x); err != nil {
		panic(err)
	}
	return x
}

// BenchmarkVGG16Forward is the inference forward pass of the VGG16 conv base
// (include_top=False), random Glorot weights, as PyTorch's `features(x)` under
// no_grad in ../shared/bench/torch_vgg16.py.
func BenchmarkVGG16Forward(b *testing.B) {
	for _, c := range []struct{ size, batch int }{{224, 16}, {224, 1}, {150, 16}} {
		b.Run(fmt.Sprintf("%d/batch%d", c.size, c.batch), func(b *testing.B) {
			m, err := vgg.New(vgg.Config{Depth: 16, InputShape: [3]int{c.size, c.size, 3}, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			x := randomBatch(c.batch, c.size, 2)
			m.Forward(x, false) // warm-up: buffers, kernel transforms
			b.ResetTimer()
			for b.Loop() {
				m.Forward(x, false)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(c.batch)/sec, "img/s")
			b.ReportMetric(float64(c.batch)*vgg16ConvFLOPs(c.size)/sec/1e9, "GFLOP/s")
			b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		})
	}
}

// BenchmarkFineTuneStep is one training step of the classic recipe at 150x150,
// batch 16: frozen VGG16 base → GlobalAveragePooling2D → Dense(256, relu) →
// Dense(2) logits, softmax cross-entropy, Adam. "head" trains only the head;
// "block5" also trains block5_conv1..3. Same work as torch_vgg16.py's head150
// and block5 modes.
func BenchmarkFineTuneStep(b *testing.B) {
	for _, mode := range []string{"head", "block5"} {
		b.Run(mode+"/150/batch16", func(b *testing.B) {
			const size, batch = 150, 16
			m, err := vgg.New(vgg.Config{Depth: 16, InputShape: [3]int{size, size, 3}, Pooling: "avg", Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			rng := tensor.NewRNG(3)
			for _, l := range []nn.Layer{nn.NewDense("dense", 512, 256, true), nn.NewDense("logits", 256, 2, false)} {
				nn.InitParams(l, rng)
				if err := m.Add(l); err != nil {
					b.Fatal(err)
				}
			}
			if err := vgg.FreezeBase(m); err != nil {
				b.Fatal(err)
			}
			if mode == "block5" {
				if err := vgg.UnfreezeFrom(m, "block5_conv1"); err != nil {
					b.Fatal(err)
				}
			}
			x := randomBatch(batch, size, 4)
			labels := make([]int, batch)
			for i := range labels {
				labels[i] = i % 2
			}
			opt := optim.NewAdam(optim.KerasAdam())
			var loss nn.SoftmaxCrossEntropy
			step := func() {
				logits := m.Forward(x, true)
				_, dlogits := loss.Loss(logits, labels)
				m.Backward(dlogits)
				opt.Step(m.TrainableParams())
			}
			step() // warm-up
			b.ResetTimer()
			for b.Loop() {
				step()
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(batch/sec, "img/s")
			b.ReportMetric(1/sec, "steps/s")
			b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		})
	}
}

// TestVGG16ConvFLOPs checks the FLOP convention against the figures that
// ../shared/bench/RESULTS.md derives from PyTorch's layer list: 15.35 GMAC
// (30.70 GFLOP) per image at 224 and 6.616 GMAC at 150.
func TestVGG16ConvFLOPs(t *testing.T) {
	for _, c := range []struct {
		size int
		gmac float64
	}{{224, 15.35}, {150, 6.616}} {
		got := vgg16ConvFLOPs(c.size) / 2 / 1e9
		if d := got - c.gmac; d > 0.005 || d < -0.005 {
			t.Errorf("size %d: %.4f GMAC, want %.3f", c.size, got, c.gmac)
		}
	}
}
