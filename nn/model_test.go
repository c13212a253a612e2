package nn

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// spy wraps a layer and counts Backward calls.
type spy struct {
	Layer
	backwards int
}

func (s *spy) Backward(dy *tensor.Tensor) *tensor.Tensor { s.backwards++; return s.Layer.Backward(dy) }
func (s *spy) SetBackwardPlan(keep, inputGrad bool) {
	s.Layer.(BackwardPlanner).SetBackwardPlan(keep, inputGrad)
}
func (s *spy) RetainedBytes() int64 { return s.Layer.(BackwardPlanner).RetainedBytes() }

func smallModel(t *testing.T) (*Model, []*spy) {
	t.Helper()
	layers := []Layer{
		NewConv2D("conv1", 3, 3, 3, 8, ConvOptions{Padding: "same", ReLU: true}),
		NewMaxPool2D("pool1", 2, 2, 2, 2, "valid"),
		NewConv2D("conv2", 3, 3, 8, 8, ConvOptions{Padding: "same", ReLU: true}),
		NewGlobalAvgPool2D("gap"),
		NewDense("fc1", 8, 16, true),
		NewDropout("drop", 0.3, 7),
		NewDense("fc2", 16, 3, false),
	}
	rng := tensor.NewRNG(5)
	var spies []*spy
	var wrapped []Layer
	for _, l := range layers {
		InitParams(l, rng)
		s := &spy{Layer: l}
		spies = append(spies, s)
		wrapped = append(wrapped, s)
	}
	m, err := NewModel("small", tensor.Shape{12, 12, 3}, wrapped...)
	if err != nil {
		t.Fatal(err)
	}
	return m, spies
}

// TestFrozenBaseKeepsNoActivations: with conv1..gap frozen, a training
// Forward keeps nothing below fc1, Backward never visits those layers and
// fc1 returns no dx; an inference Forward keeps nothing anywhere.
func TestFrozenBaseKeepsNoActivations(t *testing.T) {
	m, spies := smallModel(t)
	m.FreezeRange(0, 4)
	x := randTensor(tensor.NewRNG(1), 4, 12, 12, 3)

	m.Forward(x, false)
	if r, hw := m.RetainedBytes(), m.RetainedHighWater(); r != 0 || hw != 0 {
		t.Fatalf("inference forward retained %d bytes (high water %d), want 0", r, hw)
	}

	y := m.Forward(x, true)
	for i, s := range spies[:4] {
		if r := s.RetainedBytes(); r != 0 {
			t.Fatalf("frozen layer %d (%s) retained %d bytes", i, s.Name(), r)
		}
	}
	// Head: fc1 keeps x (4×8) and y (4×16), dropout its mask (4×16), fc2 its input (4×16).
	want := int64(4 * (4*8 + 4*16 + 4*16 + 4*16))
	if hw := m.RetainedHighWater(); hw != want {
		t.Fatalf("high water %d bytes, want %d (head only)", hw, want)
	}
	_, dl := (&SoftmaxCrossEntropy{}).Loss(y, []int{0, 1, 2, 1})
	m.Backward(dl)
	for i, s := range spies {
		wantCalls := 0
		if i >= 4 {
			wantCalls = 1
		}
		if s.backwards != wantCalls {
			t.Fatalf("layer %s: %d Backward calls, want %d", s.Name(), s.backwards, wantCalls)
		}
	}
	for _, p := range m.Params()[:4] {
		if p.Grad != nil {
			t.Fatalf("frozen %s got a gradient", p.Name)
		}
	}
	if m.layers[4].(*spy).Layer.(*Dense).inputGrad {
		t.Fatalf("lowest trainable layer fc1 planned to compute dx")
	}
	fc1 := m.Layer("fc1").(*spy).Layer.(*Dense)
	headGrad := fc1.Kernel.Grad.Clone()

	// Unfrozen, the same step must give the same head gradient (dropout reseeded).
	m2, _ := smallModel(t)
	y2 := m2.Forward(x, true)
	_, dl2 := (&SoftmaxCrossEntropy{}).Loss(y2, []int{0, 1, 2, 1})
	m2.Backward(dl2)
	if err := tensor.AllClose(m2.Layer("fc1").(*spy).Layer.(*Dense).Kernel.Grad.Data, headGrad.Data, 1e-5, 1e-6); err != nil {
		t.Fatalf("head gradient frozen vs unfrozen base: %v", err)
	}
	if m2.Params()[0].Grad == nil || m2.RetainedHighWater() <= want {
		t.Fatalf("unfrozen model should keep activations and grad conv1")
	}
}

func TestModelValidation(t *testing.T) {
	if _, err := NewModel("m", tensor.Shape{4}, NewDense("a", 4, 2, false), NewDense("a", 2, 2, false)); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("duplicate names: err %v", err)
	}
	if _, err := NewModel("m", tensor.Shape{4}, NewDense("a", 5, 2, false)); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("shape mismatch: err %v", err)
	}
	m, _ := smallModel(t)
	if err := m.Freeze("nope"); err == nil {
		t.Fatal("freezing an unknown layer must fail")
	}
	if err := m.Freeze("conv1", "fc2"); err != nil || m.Layer("conv1").Trainable() || m.Layer("fc2").Trainable() || !m.Layer("fc1").Trainable() {
		t.Fatalf("Freeze by name: err %v", err)
	}
	if m.Index("gap") != 3 || m.Index("x") != -1 || m.Layer("x") != nil {
		t.Fatal("Index/Layer lookup")
	}
}

func TestSummary(t *testing.T) {
	m, _ := smallModel(t)
	m.FreezeRange(0, 3)
	var b bytes.Buffer
	m.Summary(&b)
	s := b.String()
	// conv1: 3·3·3·8 + 8 = 224; conv2: 3·3·8·8 + 8 = 584; fc1: 8·16+16 = 144; fc2: 16·3+3 = 51.
	for _, want := range []string{
		`Model: "small"`, "Layer (type)", "Output Shape", "Param #",
		"conv1 (Conv2D)", "(None, 12, 12, 8)", "224", "pool1 (MaxPooling2D)", "(None, 6, 6, 8)",
		"gap (GlobalAveragePooling2D)", "(None, 8)", "fc2 (Dense)", "(None, 3)",
		"Total params: 1,003", "Trainable params: 195", "Non-trainable params: 808",
	} {
		if !strings.Contains(s, want) {
			t.Fatalf("summary lacks %q:\n%s", want, s)
		}
	}
}

// TestFrozenLayerAboveTrainable: a frozen conv above a trainable one passes
// gradients down (dx) but computes no weight gradient and keeps only its
// ReLU output, not its input.
func TestFrozenLayerAboveTrainable(t *testing.T) {
	m, spies := smallModel(t)
	if err := m.Freeze("conv2"); err != nil {
		t.Fatal(err)
	}
	x := randTensor(tensor.NewRNG(2), 2, 12, 12, 3)
	y := m.Forward(x, true)
	conv2 := spies[2].Layer.(*Conv2D)
	if conv2.x != nil || conv2.RetainedBytes() != int64(4*2*6*6*8) {
		t.Fatalf("frozen conv2 retains %d bytes (input kept: %v), want only its output", conv2.RetainedBytes(), conv2.x != nil)
	}
	_, dl := (&SoftmaxCrossEntropy{}).Loss(y, []int{0, 2})
	m.Backward(dl)
	if conv2.Kernel.Grad != nil {
		t.Fatal("frozen conv2 computed a kernel gradient")
	}
	conv1 := spies[0].Layer.(*Conv2D)
	if conv1.Kernel.Grad == nil || tensor.MaxAbs(conv1.Kernel.Grad.Data) == 0 {
		t.Fatal("trainable conv1 below frozen conv2 got no gradient")
	}
}
