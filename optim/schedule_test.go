package optim

import (
	"math"
	"testing"
)

func TestStepDecay(t *testing.T) {
	s := StepDecay{Initial: 0.1, Factor: 0.5, Every: 3}
	for step, want := range []float64{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025} {
		if got := s.At(step); math.Abs(got-want) > 1e-12 {
			t.Fatalf("step %d: %g, want %g", step, got, want)
		}
	}
}

func TestCosine(t *testing.T) {
	c := Cosine{Initial: 1, Min: 0.1, Total: 12, Warmup: 2}
	cases := map[int]float64{0: 0.5, 1: 1, 2: 1, 7: 0.55, 12: 0.1, 100: 0.1}
	for step, want := range cases {
		if got := c.At(step); math.Abs(got-want) > 1e-12 {
			t.Fatalf("step %d: %g, want %g", step, got, want)
		}
	}
}

func TestReduceOnPlateau(t *testing.T) {
	opt := NewSGD(SGDConfig{LR: 1})
	r := &ReduceOnPlateau{Factor: 0.5, Patience: 2, MinLR: 0.2, Cooldown: 1}
	metrics := []float64{1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97}
	// Keras's on_epoch_end: best 0.9 at epoch 1; epochs 2, 3 are bad -> 0.5 at 3 (cooldown 1);
	// epoch 4 spends the cooldown and already counts (wait 1), epoch 5 -> 0.25; 6 counts,
	// 7 -> max(0.125, MinLR) = 0.2; 9 would reduce again but MinLR holds it at 0.2.
	want := []float64{1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2}
	for i, m := range metrics {
		r.Observe(m, opt)
		if math.Abs(opt.LR()-want[i]) > 1e-12 {
			t.Fatalf("epoch %d: lr %g, want %g", i, opt.LR(), want[i])
		}
	}
}
