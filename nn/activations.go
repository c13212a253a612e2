package nn

import (
	"fmt"
	"math"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// ReLU is y = max(x, 0), elementwise, any shape.
type ReLU struct {
	base
	y *tensor.Tensor // kept for the mask
}

// NewReLU returns a ReLU layer.
func NewReLU(name string) Layer { return &ReLU{base: newBase(name)} }

// Type returns "ReLU" (Keras's layers.ReLU).
func (r *ReLU) Type() string { return "ReLU" }

// Params returns nil.
func (r *ReLU) Params() []*Param { return nil }

// RetainedBytes reports the output kept for the mask.
func (r *ReLU) RetainedBytes() int64 { return bytesOf(r.y) }

// OutputShape returns in.
func (r *ReLU) OutputShape(in tensor.Shape) (tensor.Shape, error) { return in.Clone(), nil }

// Forward returns max(x, 0) in a new tensor.
func (r *ReLU) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	y, _ := r.output(x.Shape...)
	kernels.Relu(y.Data, x.Data)
	r.y = nil
	if r.retain(training) {
		r.y = y
	}
	return y
}

// Backward: dx = dy where y > 0, else 0.
func (r *ReLU) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if r.y == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", r.name))
	}
	if !r.inputGrad {
		return nil
	}
	dx, _ := r.gradInput(r.y.Shape)
	kernels.ReluBackward(dx.Data, dy.Data, r.y.Data)
	return dx
}

// Softmax normalises the last axis: y[.., k] = exp(x[.., k] − max) / Σ_j exp(x[.., j] − max).
type Softmax struct {
	base
	y *tensor.Tensor
}

// NewSoftmax returns a Softmax layer over the last axis (Keras default).
func NewSoftmax(name string) Layer { return &Softmax{base: newBase(name)} }

// Type returns "Softmax".
func (s *Softmax) Type() string { return "Softmax" }

// Params returns nil.
func (s *Softmax) Params() []*Param { return nil }

// RetainedBytes reports the output kept for Backward.
func (s *Softmax) RetainedBytes() int64 { return bytesOf(s.y) }

// OutputShape returns in.
func (s *Softmax) OutputShape(in tensor.Shape) (tensor.Shape, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("layer %q (Softmax): scalar input", s.name)
	}
	return in.Clone(), nil
}

// Forward applies softmax along the last axis.
func (s *Softmax) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	y, _ := s.output(x.Shape...)
	softmaxInto(y, x, -1, false)
	s.y = nil
	if s.retain(training) {
		s.y = y
	}
	return y
}

// Backward: dx[k] = y[k]·(dy[k] − Σ_j dy[j]·y[j]) per row.
func (s *Softmax) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if s.y == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", s.name))
	}
	if !s.inputGrad {
		return nil
	}
	K := s.y.Shape[len(s.y.Shape)-1]
	dx, _ := s.gradInput(s.y.Shape) // fully overwritten
	for r := 0; r < len(s.y.Data); r += K {
		y, g := s.y.Data[r:r+K], dy.Data[r:r+K]
		var dot float64
		for k := range y {
			dot += float64(y[k]) * float64(g[k])
		}
		for k := range y {
			dx.Data[r+k] = y[k] * (g[k] - float32(dot))
		}
	}
	return dx
}

// SoftmaxAxis returns softmax (or, with logOut, log-softmax) of x along axis
// (negative counts from the end), as ONNX Softmax-13/LogSoftmax-13. It
// subtracts the maximum first, so large inputs do not overflow.
func SoftmaxAxis(x *tensor.Tensor, axis int, logOut bool) *tensor.Tensor {
	y := tensor.New(x.Shape...)
	softmaxInto(y, x, axis, logOut)
	return y
}

// softmaxInto writes SoftmaxAxis(x, axis, logOut) into y (x's shape).
func softmaxInto(y, x *tensor.Tensor, axis int, logOut bool) {
	r := len(x.Shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("nn.SoftmaxAxis: axis out of range for %v", x.Shape))
	}
	outer, K, inner := x.Shape[:axis].Size(), x.Shape[axis], x.Shape[axis+1:].Size()
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			at := func(k int) int { return (o*K+k)*inner + in }
			mx := float32(math.Inf(-1))
			for k := 0; k < K; k++ {
				mx = max(mx, x.Data[at(k)])
			}
			var sum float64
			for k := 0; k < K; k++ {
				sum += math.Exp(float64(x.Data[at(k)] - mx))
			}
			if logOut {
				ls := math.Log(sum)
				for k := 0; k < K; k++ {
					y.Data[at(k)] = float32(float64(x.Data[at(k)]-mx) - ls)
				}
			} else {
				for k := 0; k < K; k++ {
					y.Data[at(k)] = float32(math.Exp(float64(x.Data[at(k)]-mx)) / sum)
				}
			}
		}
	}
}

// Dropout is inverted dropout: in training each element is zeroed with
// probability rate and the survivors are scaled by 1/(1−rate), so inference
// is the identity. The mask comes from a generator seeded at construction
// (each training Forward draws a new mask from the same stream).
type Dropout struct {
	base
	rate float64
	seed uint64
	rng  *tensor.RNG
	mask []float32 // 0 or 1/(1−rate) per element, kept for Backward
	shp  tensor.Shape

	maskBuf []float32    // mask storage reused inside a Model
	shpBuf  tensor.Shape // shp storage
}

// NewDropout returns a Dropout layer; rate must be in [0, 1).
func NewDropout(name string, rate float64, seed uint64) Layer {
	if rate < 0 || rate >= 1 || math.IsNaN(rate) {
		panic(fmt.Sprintf("nn.NewDropout %q: rate %g outside [0, 1)", name, rate))
	}
	return &Dropout{base: newBase(name), rate: rate, seed: seed, rng: tensor.NewRNG(seed)}
}

// Type returns "Dropout".
func (d *Dropout) Type() string { return "Dropout" }

// Rate returns the drop probability.
func (d *Dropout) Rate() float64 { return d.rate }

// Params returns nil.
func (d *Dropout) Params() []*Param { return nil }

// RetainedBytes reports the mask kept for Backward.
func (d *Dropout) RetainedBytes() int64 { return 4 * int64(len(d.mask)) }

// OutputShape returns in.
func (d *Dropout) OutputShape(in tensor.Shape) (tensor.Shape, error) { return in.Clone(), nil }

// Forward: inference returns x itself; training returns x ⊙ mask.
func (d *Dropout) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	d.mask, d.shp = nil, nil
	if !training || d.rate == 0 {
		if d.retain(training) {
			d.shp = x.Shape.Clone()
		}
		return x
	}
	scale := float32(1 / (1 - d.rate))
	y, _ := d.output(x.Shape...)
	var mask []float32
	if d.retain(training) {
		if d.reuse {
			d.maskBuf = ensure(d.maskBuf, len(x.Data))
			mask = d.maskBuf
		} else {
			mask = make([]float32, len(x.Data))
		}
		d.mask, d.shp = mask, append(d.shpBuf[:0], x.Shape...)
		d.shpBuf = d.shp
	}
	for i, v := range x.Data {
		out, keep := float32(0), float32(0)
		if d.rng.Float64() >= d.rate {
			out, keep = v*scale, scale
		}
		y.Data[i] = out
		if mask != nil {
			mask[i] = keep
		}
	}
	return y
}

// Backward: dx = dy ⊙ mask (dy itself when no mask was drawn).
func (d *Dropout) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if d.shp == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", d.name))
	}
	if !d.inputGrad {
		return nil
	}
	if d.mask == nil {
		return dy
	}
	dx, _ := d.gradInput(d.shp)
	for i, m := range d.mask {
		dx.Data[i] = dy.Data[i] * m
	}
	return dx
}
