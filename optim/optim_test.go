package optim

import (
	"math"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

// quad is the test objective f(x) = ½ Σ a_i (x_i − c_i)², gradient a ⊙ (x − c).
type quad struct{ a, c []float64 }

func (q quad) grad(x []float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		g[i] = q.a[i] * (x[i] - q.c[i])
	}
	return g
}

func newProblem(n int, seed uint64) (quad, *nn.Param) {
	rng := tensor.NewRNG(seed)
	q := quad{a: make([]float64, n), c: make([]float64, n)}
	p := &nn.Param{Name: "w", Value: tensor.New(n), Grad: tensor.New(n)}
	for i := 0; i < n; i++ {
		q.a[i] = 0.5 + rng.Float64()
		q.c[i] = rng.NormFloat64()
		p.Value.Data[i] = float32(rng.NormFloat64())
	}
	return q, p
}

func setGrad(q quad, p *nn.Param) {
	g := q.grad(to64(p.Value.Data))
	for i := range g {
		p.Grad.Data[i] = float32(g[i])
	}
}

func to64(a []float32) []float64 {
	b := make([]float64, len(a))
	for i, v := range a {
		b[i] = float64(v)
	}
	return b
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d]: got %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestAdamMatchesKerasRule runs 50 Adam steps and compares with the Keras
// Adam rule written out in float64 (m, v, alpha = lr·sqrt(1−β2^t)/(1−β1^t), ε added to sqrt(v)).
func TestAdamMatchesKerasRule(t *testing.T) {
	for _, wd := range []struct {
		wd        float64
		decoupled bool
	}{{0, false}, {0.01, false}, {0.05, true}} {
		q, p := newProblem(7, 1)
		x := to64(p.Value.Data)
		cfg := KerasAdam()
		cfg.LR, cfg.WeightDecay, cfg.Decoupled = 0.05, wd.wd, wd.decoupled
		opt := NewAdam(cfg)
		m, v := make([]float64, 7), make([]float64, 7)
		for step := 1; step <= 50; step++ {
			setGrad(q, p)
			g := q.grad(x)
			opt.Step([]*nn.Param{p})
			alpha := cfg.LR * math.Sqrt(1-math.Pow(cfg.Beta2, float64(step))) / (1 - math.Pow(cfg.Beta1, float64(step)))
			for i := range x {
				if wd.decoupled {
					x[i] -= cfg.LR * wd.wd * x[i]
				} else {
					g[i] += wd.wd * x[i]
				}
				m[i] = 0.9*m[i] + 0.1*g[i]
				v[i] = 0.999*v[i] + 0.001*g[i]*g[i]
				x[i] -= alpha * m[i] / (math.Sqrt(v[i]) + 1e-7)
			}
			closeTo(t, "adam x", p.Value.Data, x, 1e-4)
		}
	}
}

// TestSGDMatchesPyTorchRule compares with torch.optim.SGD's documented rule in float64.
func TestSGDMatchesPyTorchRule(t *testing.T) {
	for _, nesterov := range []bool{false, true} {
		q, p := newProblem(5, 2)
		x := to64(p.Value.Data)
		cfg := SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01, Nesterov: nesterov}
		opt := NewSGD(cfg)
		buf := make([]float64, 5)
		for step := 0; step < 40; step++ {
			setGrad(q, p)
			g := q.grad(x)
			opt.Step([]*nn.Param{p})
			for i := range x {
				d := g[i] + cfg.WeightDecay*x[i]
				if step == 0 {
					buf[i] = d
				} else {
					buf[i] = cfg.Momentum*buf[i] + d
				}
				if nesterov {
					d += cfg.Momentum * buf[i]
				} else {
					d = buf[i]
				}
				x[i] -= cfg.LR * d
			}
			closeTo(t, "sgd x", p.Value.Data, x, 1e-4)
		}
	}
}

// TestStateResume: saving after 10 steps and loading into a fresh optimizer
// continues exactly as an uninterrupted run.
func TestStateResume(t *testing.T) {
	mk := []func() Optimizer{
		func() Optimizer { return NewAdam(KerasAdam()) },
		func() Optimizer { return NewSGD(SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true}) },
	}
	for _, make := range mk {
		q, p1 := newProblem(9, 3)
		_, p2 := newProblem(9, 3)
		a := make()
		for i := 0; i < 10; i++ {
			setGrad(q, p1)
			a.Step([]*nn.Param{p1})
		}
		blob, err := a.State()
		if err != nil {
			t.Fatal(err)
		}
		copy(p2.Value.Data, p1.Value.Data)
		b := make()
		b.SetLR(123) // must be overwritten by LoadState
		if err := b.LoadState(blob); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			setGrad(q, p1)
			a.Step([]*nn.Param{p1})
			setGrad(q, p2)
			b.Step([]*nn.Param{p2})
		}
		for i := range p1.Value.Data {
			if p1.Value.Data[i] != p2.Value.Data[i] {
				t.Fatalf("resumed run differs at %d: %g vs %g", i, p1.Value.Data[i], p2.Value.Data[i])
			}
		}
		// Corrupt blobs are rejected with an error, never a panic.
		for cut := 0; cut < len(blob); cut += 7 {
			if err := make().LoadState(blob[:cut]); err == nil {
				t.Fatalf("truncated state (%d of %d bytes) accepted", cut, len(blob))
			}
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	a := &nn.Param{Name: "a", Grad: tensor.FromData([]float32{3, 0}, 2)}
	b := &nn.Param{Name: "b", Grad: tensor.FromData([]float32{4}, 1)}
	c := &nn.Param{Name: "c"} // nil grad: ignored
	if n := ClipGradNorm([]*nn.Param{a, b, c}, 1); math.Abs(n-5) > 1e-6 {
		t.Fatalf("norm %g, want 5", n)
	}
	if math.Abs(float64(a.Grad.Data[0])-0.6) > 1e-6 || math.Abs(float64(b.Grad.Data[0])-0.8) > 1e-6 {
		t.Fatalf("clipped grads %v %v, want 0.6, 0.8", a.Grad.Data, b.Grad.Data)
	}
	if n := ClipGradNorm([]*nn.Param{a, b}, 10); math.Abs(n-1) > 1e-6 || math.Abs(float64(b.Grad.Data[0])-0.8) > 1e-6 {
		t.Fatalf("norm below max must not change grads: %g %v", n, b.Grad.Data)
	}
}

// FuzzLoadState: arbitrary bytes give an error or a usable state, never a panic.
func FuzzLoadState(f *testing.F) {
	q, p := newProblem(4, 5)
	a := NewAdam(KerasAdam())
	setGrad(q, p)
	a.Step([]*nn.Param{p})
	blob, _ := a.State()
	f.Add(blob)
	f.Add([]byte("GTOPTIM1\x02\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := NewAdam(KerasAdam())
		if err := o.LoadState(b); err != nil {
			return
		}
		if _, err := o.State(); err != nil {
			t.Fatalf("loaded state does not re-encode: %v", err)
		}
	})
}

// TestAdamLayerLR checks per-layer learning rates: in one optimizer with
// LayerLR{"conv": 0.1}, "conv/kernel" must follow a plain Adam at lr·0.1
// (itself checked against the float64 rule above) and "dense/kernel" one at
// lr, and a saved state must keep the multipliers.
func TestAdamLayerLR(t *testing.T) {
	q1, conv := newProblem(5, 2)
	q2, dense := newProblem(6, 3)
	conv.Name, dense.Name = "conv/kernel", "dense/kernel"
	_, convRef := newProblem(5, 2)
	_, denseRef := newProblem(6, 3)
	cfg := KerasAdam()
	cfg.LR, cfg.LayerLR = 0.05, map[string]float64{"conv": 0.1}
	opt := NewAdam(cfg)
	slow, fast := KerasAdam(), KerasAdam()
	slow.LR, fast.LR = 0.005, 0.05
	optSlow, optFast := NewAdam(slow), NewAdam(fast)
	for step := 1; step <= 30; step++ {
		if step == 15 { // resume mid-way from a saved state
			b, err := opt.State()
			if err != nil {
				t.Fatal(err)
			}
			opt = NewAdam(KerasAdam())
			if err := opt.LoadState(b); err != nil {
				t.Fatal(err)
			}
		}
		setGrad(q1, conv)
		setGrad(q2, dense)
		setGrad(q1, convRef)
		setGrad(q2, denseRef)
		opt.Step([]*nn.Param{conv, dense})
		optSlow.Step([]*nn.Param{convRef})
		optFast.Step([]*nn.Param{denseRef})
		closeTo(t, "conv", conv.Value.Data, to64(convRef.Value.Data), 1e-6)
		closeTo(t, "dense", dense.Value.Data, to64(denseRef.Value.Data), 1e-6)
	}
}
