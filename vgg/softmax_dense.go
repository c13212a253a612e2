package vgg

import (
	"fmt"
	"math"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

// SoftmaxDense is Keras's Dense(units, activation='softmax'): the VGG
// "predictions" layer. Its name, type ("Dense"), trainable flag and weights
// (kernel (in, units), bias (units)) are the embedded Dense's, so weight
// files map onto it by name; Forward applies a softmax over the units:
//
//	z = x·kernel + bias   (N, units)
//	y[n,j] = exp(z[n,j] − max_k z[n,k]) / Σ_k exp(z[n,k] − max_k z[n,k])
type SoftmaxDense struct {
	*nn.Dense
	keep bool           // store y on training Forward (backward plan)
	y    *tensor.Tensor // softmax output kept for Backward
}

// NewSoftmaxDense returns a softmax Dense layer with zero weights.
func NewSoftmaxDense(name string, in, units int) *SoftmaxDense {
	return &SoftmaxDense{Dense: nn.NewDense(name, in, units, false), keep: true}
}

// SetBackwardPlan forwards the model's backward plan to the Dense and
// remembers whether to keep the softmax output.
func (s *SoftmaxDense) SetBackwardPlan(keep, inputGrad bool) {
	s.keep = keep
	s.Dense.SetBackwardPlan(keep, inputGrad)
}

// RetainedBytes is the Dense's backward state plus the kept softmax output.
func (s *SoftmaxDense) RetainedBytes() int64 {
	n := s.Dense.RetainedBytes()
	if s.y != nil {
		n += 4 * int64(len(s.y.Data))
	}
	return n
}

// Forward returns the softmax of the Dense's output (N, units).
func (s *SoftmaxDense) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	z := s.Dense.Forward(x, training)
	_, units := s.Dense.Units()
	y := tensor.New(z.Shape...)
	for n := 0; n < z.Shape[0]; n++ {
		zr, yr := z.Data[n*units:(n+1)*units], y.Data[n*units:(n+1)*units]
		m := zr[0]
		for _, v := range zr {
			m = max(m, v)
		}
		var sum float64
		for j, v := range zr {
			e := float32(math.Exp(float64(v - m)))
			yr[j] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		for j := range yr {
			yr[j] *= inv
		}
	}
	s.y = nil
	if training && s.keep {
		s.y = y
	}
	return y
}

// Backward maps dy (N, units) through the softmax Jacobian,
//
//	dz[n,j] = y[n,j] · (dy[n,j] − Σ_k dy[n,k]·y[n,k]),
//
// then through the Dense.
func (s *SoftmaxDense) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if s.y == nil {
		panic(fmt.Sprintf("vgg: layer %q: Backward without a training Forward", s.Name()))
	}
	_, units := s.Dense.Units()
	dz := tensor.New(dy.Shape...)
	for n := 0; n < dy.Shape[0]; n++ {
		yr, gr, zr := s.y.Data[n*units:(n+1)*units], dy.Data[n*units:(n+1)*units], dz.Data[n*units:(n+1)*units]
		var dot float32
		for j := range yr {
			dot += gr[j] * yr[j]
		}
		for j := range yr {
			zr[j] = yr[j] * (gr[j] - dot)
		}
	}
	return s.Dense.Backward(dz)
}
