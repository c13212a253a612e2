package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/gotransfer/gotransfer/nn"
)

// Optimizer updates weights from their gradients.
type Optimizer interface {
	Step(params []*nn.Param) // uses p.Grad; skips params whose Grad is nil
	LR() float64
	SetLR(float64)
	State() ([]byte, error) // see the format in state.go
	LoadState([]byte) error
}

// slots holds one optimizer's per-parameter state vectors, keyed by Param.Name.
type slots map[string][][]float32

// get returns the n state vectors of p (zeros on first use), checking sizes.
func (s slots) get(p *nn.Param, n int) [][]float32 {
	st, ok := s[p.Name]
	if ok && len(st) == n && len(st[0]) == len(p.Value.Data) {
		return st
	}
	if ok {
		panic(fmt.Sprintf("optim: state of %q has size %d, weight has %d", p.Name, len(st[0]), len(p.Value.Data)))
	}
	st = make([][]float32, n)
	for i := range st {
		st[i] = make([]float32, len(p.Value.Data))
	}
	s[p.Name] = st
	return st
}

// SGDConfig configures SGD. WeightDecay is L2 added to the gradient (PyTorch's weight_decay).
type SGDConfig struct {
	LR, Momentum, WeightDecay float64
	Nesterov                  bool
}

// SGD is stochastic gradient descent with optional momentum and Nesterov, in
// PyTorch's form (which equals Keras's for a constant learning rate):
//
//	g = grad + wd·x;  v = μ·v + g (v = g on the first step);  x −= lr·v   (Nesterov: x −= lr·(g + μ·v))
type SGD struct {
	cfg   SGDConfig
	steps int64
	state slots // "v" per param
}

// NewSGD returns an SGD optimizer.
func NewSGD(cfg SGDConfig) *SGD { return &SGD{cfg: cfg, state: slots{}} }

// LR returns the learning rate.
func (o *SGD) LR() float64 { return o.cfg.LR }

// SetLR sets the learning rate (schedules call this).
func (o *SGD) SetLR(lr float64) { o.cfg.LR = lr }

// Steps returns how many Steps have run.
func (o *SGD) Steps() int64 { return o.steps }

// Step updates every param with a gradient.
func (o *SGD) Step(params []*nn.Param) {
	c := o.cfg
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		if c.Momentum == 0 { // plain SGD: x −= lr·(grad + wd·x)
			lr, wd := float32(c.LR), float32(c.WeightDecay)
			for i, g := range p.Grad.Data {
				p.Value.Data[i] -= lr * (g + wd*p.Value.Data[i])
			}
			continue
		}
		_, seen := o.state[p.Name]
		v := o.state.get(p, 1)[0]
		MomentumUpdate(p.Value.Data, p.Grad.Data, v, float32(c.LR), float32(c.Momentum), 1, float32(c.WeightDecay), !seen, c.Nesterov)
	}
	o.steps++
}

// AdamConfig configures Adam. Epsilon is explicit because Keras uses 1e-7 and
// PyTorch 1e-8. WeightDecay is L2 added to the gradient unless Decoupled
// (AdamW): then x −= LR·WeightDecay·x before each update, as Keras AdamW and
// PyTorch AdamW do.
//
// LayerLR optionally scales the learning rate per layer (discriminative
// fine-tuning, like PyTorch's parameter groups): a param named
// "<layer>/<weight>" is updated with LR·LayerLR[layer] when its layer is
// in the map, with LR otherwise.
type AdamConfig struct {
	LR, Beta1, Beta2, Epsilon, WeightDecay float64
	Decoupled                              bool
	LayerLR                                map[string]float64 `json:",omitempty"`
}

// KerasAdam returns Keras's defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7.
func KerasAdam() AdamConfig { return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7} }

// Adam is Keras's Adam (see AdamUpdate for the rule), optionally AdamW.
type Adam struct {
	cfg   AdamConfig
	steps int64
	state slots // "m", "v" per param
}

// NewAdam returns an Adam optimizer.
func NewAdam(cfg AdamConfig) *Adam { return &Adam{cfg: cfg, state: slots{}} }

// LR returns the learning rate.
func (o *Adam) LR() float64 { return o.cfg.LR }

// SetLR sets the learning rate.
func (o *Adam) SetLR(lr float64) { o.cfg.LR = lr }

// Steps returns how many Steps have run (the bias-correction t of the last step).
func (o *Adam) Steps() int64 { return o.steps }

// Step advances t and updates every param with a gradient.
func (o *Adam) Step(params []*nn.Param) {
	o.steps++
	c := o.cfg
	l2 := c.WeightDecay
	if c.Decoupled {
		l2 = 0
	}
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		st := o.state.get(p, 2)
		lr := c.LR
		if c.LayerLR != nil {
			if f, ok := c.LayerLR[layerOf(p.Name)]; ok {
				lr *= f
			}
		}
		if c.Decoupled && c.WeightDecay != 0 {
			f := float32(1 - lr*c.WeightDecay)
			for i := range p.Value.Data {
				p.Value.Data[i] *= f
			}
		}
		AdamUpdate(p.Value.Data, p.Grad.Data, st[0], st[1], o.steps, lr, c.Beta1, c.Beta2, c.Epsilon, l2, 0)
	}
}

// layerOf returns the layer part of a param name "<layer>/<weight>".
func layerOf(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}

// ClipGradNorm scales all gradients so that their global L2 norm is at most
// maxNorm (like torch.nn.utils.clip_grad_norm_ and Keras global_clipnorm). It
// returns the norm before clipping. Params with nil Grad are ignored.
func ClipGradNorm(params []*nn.Param, maxNorm float64) float64 {
	var sq float64
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		for _, g := range p.Grad.Data {
			sq += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(sq)
	if norm > maxNorm && norm > 0 {
		s := float32(maxNorm / norm)
		for _, p := range params {
			if p.Grad == nil {
				continue
			}
			for i := range p.Grad.Data {
				p.Grad.Data[i] *= s
			}
		}
	}
	return norm
}

// AdagradConfig configures Adagrad (ONNX/PyTorch form): lr_t = LR/(1 + t·Decay),
// h += g², x −= lr_t·g/(sqrt(h) + Epsilon), g = grad + WeightDecay·x.
type AdagradConfig struct {
	LR, Decay, Epsilon, WeightDecay float64
}

// Adagrad is the Adagrad optimizer; see AdagradUpdate.
type Adagrad struct {
	cfg   AdagradConfig
	steps int64
	state slots // accumulated squared gradients
}

// NewAdagrad returns an Adagrad optimizer.
func NewAdagrad(cfg AdagradConfig) *Adagrad { return &Adagrad{cfg: cfg, state: slots{}} }

// LR returns the base learning rate.
func (o *Adagrad) LR() float64 { return o.cfg.LR }

// SetLR sets the base learning rate.
func (o *Adagrad) SetLR(lr float64) { o.cfg.LR = lr }

// Step updates every param with a gradient (t = steps before this one, as in ONNX).
func (o *Adagrad) Step(params []*nn.Param) {
	c := o.cfg
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		h := o.state.get(p, 1)[0]
		AdagradUpdate(p.Value.Data, p.Grad.Data, h, o.steps, c.LR, c.Decay, c.Epsilon, c.WeightDecay)
	}
	o.steps++
}

// State serialises Adagrad's config, step count and accumulators.
func (o *Adagrad) State() ([]byte, error) { return encodeState("adagrad", o.cfg, o.steps, o.state) }

// LoadState restores what State saved.
func (o *Adagrad) LoadState(b []byte) error {
	var cfg AdagradConfig
	steps, s, err := decodeState(b, "adagrad", &cfg)
	if err != nil {
		return err
	}
	o.cfg, o.steps, o.state = cfg, steps, s
	return nil
}
