package nn

import (
	"math"
	"runtime"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// streamModel is a small VGG-shaped stack for the micro-batching tests:
// input (32, 32, 3); per-sample activations 64 KiB (conv1, conv2), 16 KiB
// (pool1), 32 KiB (conv3, conv4), 8 KiB (pool2), then a head.
func streamModel(t *testing.T, seed uint64) *Model {
	t.Helper()
	layers := []Layer{
		NewConv2D("conv1", 3, 3, 3, 16, ConvOptions{Padding: "same", ReLU: true}),
		NewConv2D("conv2", 3, 3, 16, 16, ConvOptions{Padding: "same", ReLU: true}),
		NewMaxPool2D("pool1", 2, 2, 2, 2, "valid"),
		NewConv2D("conv3", 3, 3, 16, 32, ConvOptions{Padding: "same"}),
		NewReLU("relu3"),
		NewConv2D("conv4", 3, 3, 32, 32, ConvOptions{Padding: "same", ReLU: true}),
		NewMaxPool2D("pool2", 2, 2, 2, 2, "valid"),
		NewFlatten("flatten"),
		NewDropout("drop", 0.25, 3),
		NewDense("fc1", 8*8*32, 24, true),
		NewDense("fc2", 24, 5, false),
	}
	rng := tensor.NewRNG(seed)
	for _, l := range layers {
		InitParams(l, rng)
	}
	m, err := NewModel("stream", tensor.Shape{32, 32, 3}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// referenceForward runs the layers one by one outside any Model (each
// allocating its own whole-batch output): the pre-streaming behaviour.
func referenceForward(m *Model, x *tensor.Tensor) *tensor.Tensor {
	for _, l := range m.Layers() {
		if bp, ok := l.(BackwardPlanner); ok {
			bp.SetBackwardPlan(false, false)
		}
		x = l.Forward(x, false)
	}
	return x
}

func bitEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: element %d is %v, want %v (bit-identical)", what, i, got[i], want[i])
		}
	}
}

// TestMicroBatchBitIdentical: inference through the pooled micro-batch
// stream gives exactly the whole-batch layer-by-layer result, for budgets
// that give chunks of 1, 2, 3 images (7 = 3+2+2, uneven), whole batch and
// the default; and a second call (reused buffers) gives it again.
func TestMicroBatchBitIdentical(t *testing.T) {
	x := randTensor(tensor.NewRNG(9), 7, 32, 32, 3)
	want := referenceForward(streamModel(t, 1), x)
	for _, budget := range []int64{1, 64 << 10, 3 * 64 << 10, 0, -1} {
		m := streamModel(t, 1)
		m.SetMicroBatchBytes(budget)
		for call := 0; call < 2; call++ {
			got := m.Forward(x, false)
			if !got.Shape.Equal(want.Shape) {
				t.Fatalf("budget %d: shape %v, want %v", budget, got.Shape, want.Shape)
			}
			bitEqual(t, "inference output", got.Data, want.Data)
		}
	}
}

// TestMicroBatchTrainingFrozenPrefix: with conv1..pool2 frozen, a training
// step streams the frozen prefix in micro-batches; the logits and every
// gradient equal those of a whole-batch run exactly.
func TestMicroBatchTrainingFrozenPrefix(t *testing.T) {
	x := randTensor(tensor.NewRNG(4), 6, 32, 32, 3)
	labels := []int{0, 1, 2, 3, 4, 0}
	run := func(budget int64) (*tensor.Tensor, []*Param) {
		m := streamModel(t, 2)
		m.SetMicroBatchBytes(budget)
		if err := m.Freeze("conv1", "conv2", "conv3"); err != nil {
			t.Fatal(err)
		}
		var y *tensor.Tensor
		for step := 0; step < 2; step++ { // the second step runs on reused buffers
			y = m.Forward(x, true)
			_, dl := (&SoftmaxCrossEntropy{}).Loss(y, labels)
			m.Backward(dl)
		}
		return y, m.TrainableParams()
	}
	yRef, pRef := run(-1)
	y, p := run(64 << 10) // chunks of 1 image in the 64 KiB layers
	bitEqual(t, "logits", y.Data, yRef.Data)
	for i := range p {
		if p[i].Grad == nil {
			t.Fatalf("%s: no gradient", p[i].Name)
		}
		bitEqual(t, p[i].Name+" grad", p[i].Grad.Data, pRef[i].Grad.Data)
	}
}

// TestInferenceMemoryBounded: an inference Forward of batch 8 with a
// 128 KiB budget runs conv1..pool1 in chunks of 2 images (128 KiB
// activations), conv3..pool2 in chunks of 4 (128 KiB) and the rest whole.
// The stream holds at most four buffers at once (segment input and output,
// a chunk layer's input and output), none larger than 128 KiB here (the
// largest whole-batch segment output, pool1's, is 8·16 KiB), so at most
// 512 KiB are lent at once, against 8·(64+64+16+32+32+32+8) KiB = 1.98 MiB
// of whole-batch activations allocated by running the layers one by one.
// A second Forward allocates no new buffers, and its heap allocation is
// only the output tensor and small headers.
func TestInferenceMemoryBounded(t *testing.T) {
	m := streamModel(t, 3)
	m.SetMicroBatchBytes(128 << 10)
	x := randTensor(tensor.NewRNG(5), 8, 32, 32, 3)
	m.Forward(x, false)
	pooled, peak := m.BufferStats()
	const bound = 4 * 128 << 10
	t.Logf("pooled %d bytes, peak in use %d", pooled, peak)
	if peak > bound {
		t.Errorf("peak pooled bytes in use %d, want <= %d", peak, bound)
	}
	if pooled > bound {
		t.Errorf("pool holds %d bytes, want <= %d", pooled, bound)
	}
	if m.RetainedHighWater() != 0 {
		t.Errorf("inference retained %d bytes", m.RetainedHighWater())
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m.Forward(x, false)
	runtime.ReadMemStats(&after)
	if p2, _ := m.BufferStats(); p2 != pooled {
		t.Errorf("second Forward grew the pool from %d to %d bytes", pooled, p2)
	}
	// The (8, 5) output is 160 bytes; allow 16 KiB for headers and scratch
	// (a whole-batch conv1 output alone is 512 KiB).
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<10 {
		t.Errorf("second Forward allocated %d bytes, want <= 16 KiB", d)
	}
}

// TestWinogradMatchesDirect compares the two convolution paths layer by
// layer on VGG16 shapes (at reduced spatial size), with activations of
// realistic scale: ReLU'd inputs U(0, 2) and Glorot kernels, as inside a
// trained network. The relative error max|y_w − y_d| / max|y_d| of the
// forward output and of dx must stay within 1e-4.
func TestWinogradMatchesDirect(t *testing.T) {
	for i, c := range []struct{ n, hw, cin, cout int }{
		{2, 20, 64, 64}, {2, 14, 128, 128}, {1, 12, 256, 256}, {3, 14, 512, 512}, {3, 7, 256, 512}, {2, 10, 19, 35},
	} {
		rng := tensor.NewRNG(uint64(40 + i))
		x := tensor.New(c.n, c.hw, c.hw, c.cin)
		tensor.Uniform(x, 0, 2, rng)
		dy := randTensor(rng, c.n, c.hw, c.hw, c.cout)
		var ys, dxs [2]*tensor.Tensor
		var kernel, bias *tensor.Tensor
		for k, alg := range []string{ConvDirect, ConvWinograd} {
			l := NewConv2D("conv", 3, 3, c.cin, c.cout, ConvOptions{Padding: "same", ReLU: true})
			l.pinned = alg
			if kernel == nil {
				InitParams(l, rng)
				tensor.Uniform(l.Bias.Value, -0.1, 0.1, rng)
				kernel, bias = l.Kernel.Value, l.Bias.Value
			}
			l.Kernel.Value.CopyFrom(kernel)
			l.Bias.Value.CopyFrom(bias)
			gh, gw, _ := l.geometry(x.Shape)
			if p := l.choose(c.n, gh, gw); (p.fwd == algWinograd) != (alg == ConvWinograd) {
				t.Fatalf("%v: algorithm %s not taken: plan %+v", c, alg, p)
			}
			l.SetBackwardPlan(true, true)
			ys[k] = l.Forward(x, true)
			dxs[k] = l.Backward(dy)
		}
		for _, r := range []struct {
			what string
			w, d []float32
		}{{"y", ys[1].Data, ys[0].Data}, {"dx", dxs[1].Data, dxs[0].Data}} {
			diff, _ := tensor.MaxAbsDiff(r.w, r.d)
			rel := diff / tensor.MaxAbs(r.d)
			t.Logf("%v %s: relative error %.2g", c, r.what, rel)
			if rel > 1e-4 || rel != rel {
				t.Errorf("%v %s: Winograd vs direct relative error %.3g > 1e-4", c, r.what, rel)
			}
		}
	}
}

// TestMaxPool2x2FastPath: the 2x2/stride-2 inference loop equals the
// general windowed loop (ForwardArgMax) on odd sizes (floor), ties,
// infinities and NaN.
func TestMaxPool2x2FastPath(t *testing.T) {
	x := randTensor(tensor.NewRNG(8), 3, 7, 9, 20)
	x.Data[5], x.Data[25] = float32(math.Inf(-1)), float32(math.NaN())
	x.Data[100], x.Data[120] = 1.5, 1.5
	p := NewMaxPool2D("pool", 2, 2, 2, 2, "valid")
	got := p.Forward(x, false)
	want, _ := p.ForwardArgMax(x)
	if !got.Shape.Equal(tensor.Shape{3, 3, 4, 20}) {
		t.Fatalf("shape %v", got.Shape)
	}
	for i := range want.Data {
		g, w := got.Data[i], want.Data[i]
		if g != w && !(g != g && w != w) {
			t.Fatalf("element %d: fast %v, general %v", i, g, w)
		}
	}
}

// TestWinogradCacheFollowsWeights: a frozen Winograd conv inside a Model
// keeps its kernel transform across calls, yet a Forward after new weights
// are loaded into it (or after KernelChanged for a one-weight edit) uses
// them: the output matches the direct path with the same weights.
func TestWinogradCacheFollowsWeights(t *testing.T) {
	rng := tensor.NewRNG(12)
	mk := func(alg string) (*Model, *Conv2D) {
		c := NewConv2D("c", 3, 3, 16, 16, ConvOptions{Padding: "same"})
		c.pinned = alg
		m, err := NewModel("m", tensor.Shape{16, 16, 16}, c, NewGlobalAvgPool2D("gap"))
		if err != nil {
			t.Fatal(err)
		}
		m.Freeze("c")
		return m, c
	}
	mw, cw := mk(ConvWinograd)
	md, cd := mk(ConvDirect)
	x := randTensor(rng, 4, 16, 16, 16)
	check := func(what string) {
		t.Helper()
		cd.Kernel.Value.CopyFrom(cw.Kernel.Value)
		yw, yd := mw.Forward(x, false), md.Forward(x, false)
		if d, _ := tensor.MaxAbsDiff(yw.Data, yd.Data); d > 1e-4*tensor.MaxAbs(yd.Data) {
			t.Fatalf("%s: Winograd differs from direct by %g", what, d)
		}
	}
	InitParams(cw, rng)
	check("first call")
	check("cached")
	tensor.Normal(cw.Kernel.Value, 0, 0.3, rng) // e.g. a weight file loaded in place
	check("after new weights")
	cw.Kernel.Value.Data[17] += 5
	cw.KernelChanged()
	check("after a one-weight edit and KernelChanged")
}

// TestStepAllocations: after warm-up, a training Forward+Backward with a
// frozen prefix and an inference Forward allocate only a handful of small
// objects (the returned output tensor and a few headers), however many
// layers and images: activations, dx, masks, argmax and scratch are reused.
func TestStepAllocations(t *testing.T) {
	for _, n := range []int{4, 8} {
		m := streamModel(t, 6)
		if err := m.Freeze("conv1", "conv2", "conv3"); err != nil {
			t.Fatal(err)
		}
		x := randTensor(tensor.NewRNG(7), n, 32, 32, 3)
		dy := randTensor(tensor.NewRNG(8), n, 5)
		step := func() {
			m.Forward(x, true)
			m.Backward(dy)
		}
		step()
		if a := testing.AllocsPerRun(5, step); a > 8 {
			t.Errorf("batch %d: training step: %v allocations, want <= 8", n, a)
		}
		m.Forward(x, false)
		if a := testing.AllocsPerRun(5, func() { m.Forward(x, false) }); a > 8 {
			t.Errorf("batch %d: inference Forward: %v allocations, want <= 8", n, a)
		}
	}
}
