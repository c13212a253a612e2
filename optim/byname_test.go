package optim

import (
	"math"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
)

// TestNewMatchesRules: each optimizer New builds follows its update rule
// written out in float64 for 30 steps (plain SGD x −= lr·g; Keras AdamW
// x −= lr·wd·x, then Adam with ε added to sqrt(v)).
func TestNewMatchesRules(t *testing.T) {
	for _, name := range Names {
		q, p := newProblem(6, 3)
		x := to64(p.Value.Data)
		opt, err := New(name, Settings{LR: 0.03})
		if err != nil {
			t.Fatal(err)
		}
		m, v := make([]float64, 6), make([]float64, 6)
		for step := 1; step <= 30; step++ {
			setGrad(q, p)
			g := q.grad(x)
			opt.Step([]*nn.Param{p})
			alpha := 0.03 * math.Sqrt(1-math.Pow(0.999, float64(step))) / (1 - math.Pow(0.9, float64(step)))
			for i := range x {
				switch name {
				case "sgd":
					x[i] -= 0.03 * g[i]
					continue
				case "adamw":
					x[i] -= 0.03 * 0.004 * x[i]
				}
				m[i] = 0.9*m[i] + 0.1*g[i]
				v[i] = 0.999*v[i] + 0.001*g[i]*g[i]
				x[i] -= alpha * m[i] / (math.Sqrt(v[i]) + 1e-7)
			}
			closeTo(t, name+" x", p.Value.Data, x, 1e-4)
		}
	}
	if _, err := New("rmsprop", Settings{}); err == nil {
		t.Error("unknown optimizer accepted")
	}
	if o, _ := New("sgd", Settings{}); o.LR() != 0.01 {
		t.Errorf("sgd default lr %g, want Keras's 0.01", o.LR())
	}
}
