package train

import (
	"fmt"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

// StepDropout is inverted dropout (Keras Dropout) whose mask stream is
// re-seeded for every training step with Reseed. That makes each step's mask
// a pure function of (run seed, epoch, step), so a run resumed from a
// checkpoint draws exactly the masks an uninterrupted run would have drawn.
// (nn.Dropout draws from one stream seeded at construction, which a
// checkpoint could not restore.) In inference it is the identity.
type StepDropout struct {
	name      string
	rate      float64
	trainable bool
	rng       *tensor.RNG
	mask      []float32 // 0 or 1/(1−rate) per element, for Backward
	shape     tensor.Shape
}

// NewStepDropout returns a dropout layer; rate must be in [0, 1).
func NewStepDropout(name string, rate float64) *StepDropout {
	if !(rate >= 0 && rate < 1) {
		panic(fmt.Sprintf("train.NewStepDropout %q: rate %g outside [0, 1)", name, rate))
	}
	return &StepDropout{name: name, rate: rate, trainable: true, rng: tensor.NewRNG(0)}
}

// Reseed restarts the mask stream from seed.
func (d *StepDropout) Reseed(seed uint64) { d.rng = tensor.NewRNG(seed) }

// Name returns the Keras layer name.
func (d *StepDropout) Name() string { return d.name }

// Type returns "Dropout".
func (d *StepDropout) Type() string { return "Dropout" }

// Rate returns the drop probability.
func (d *StepDropout) Rate() float64 { return d.rate }

// Trainable reports the (meaningless for a weightless layer) trainable flag.
func (d *StepDropout) Trainable() bool { return d.trainable }

// SetTrainable sets the trainable flag.
func (d *StepDropout) SetTrainable(t bool) { d.trainable = t }

// Params returns nil: dropout has no weights.
func (d *StepDropout) Params() []*nn.Param { return nil }

// OutputShape returns in unchanged.
func (d *StepDropout) OutputShape(in tensor.Shape) (tensor.Shape, error) { return in.Clone(), nil }

// Forward: inference returns x; training returns y = x ⊙ mask with
// mask[i] = 1/(1−rate) with probability 1−rate, else 0.
func (d *StepDropout) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	d.mask, d.shape = nil, x.Shape.Clone()
	if !training || d.rate == 0 {
		return x
	}
	scale := float32(1 / (1 - d.rate))
	y := tensor.New(x.Shape...)
	d.mask = make([]float32, len(x.Data))
	for i, v := range x.Data {
		if d.rng.Float64() >= d.rate {
			y.Data[i] = v * scale
			d.mask[i] = scale
		}
	}
	return y
}

// Backward: dx = dy ⊙ mask (dy itself when Forward drew no mask).
func (d *StepDropout) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if d.mask == nil {
		return dy
	}
	dx := tensor.New(d.shape...)
	for i, m := range d.mask {
		dx.Data[i] = dy.Data[i] * m
	}
	return dx
}
