package nn

import (
	"fmt"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// Dense is Keras's fully connected layer: x (N, in) -> y (N, out),
//
//	y = x·kernel + bias        kernel (in, out), bias (out)
//
// then ReLU when fused (Keras activation='relu').
type Dense struct {
	base
	Kernel, Bias *Param
	in, out      int
	relu         bool

	x, y *tensor.Tensor // kept for Backward: x when trainable (dW), y when ReLU (mask)
	n    int            // batch of the kept Forward (0 = none)
	dz   []float32
}

// NewDense returns a Dense layer with zero weights (see InitParams).
func NewDense(name string, in, out int, relu bool) *Dense {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn.NewDense %q: sizes %d->%d must be positive", name, in, out))
	}
	return &Dense{base: newBase(name), in: in, out: out, relu: relu,
		Kernel: &Param{Name: name + "/kernel", Value: tensor.New(in, out)},
		Bias:   &Param{Name: name + "/bias", Value: tensor.New(out)}}
}

// Type returns "Dense".
func (d *Dense) Type() string { return "Dense" }

// Units returns (in, out).
func (d *Dense) Units() (in, out int) { return d.in, d.out }

// ReLU reports whether a ReLU is fused.
func (d *Dense) ReLU() bool { return d.relu }

// Params returns kernel then bias.
func (d *Dense) Params() []*Param { return []*Param{d.Kernel, d.Bias} }

// RetainedBytes reports the input/output kept for Backward.
func (d *Dense) RetainedBytes() int64 { return bytesOf(d.x) + bytesOf(d.y) }

// OutputShape returns (N, out).
func (d *Dense) OutputShape(in tensor.Shape) (tensor.Shape, error) {
	if len(in) != 2 || in[1] != d.in {
		return nil, fmt.Errorf("layer %q (Dense): input %v, want (N, %d)", d.name, in, d.in)
	}
	return tensor.Shape{in[0], d.out}, nil
}

// Forward computes y = x·kernel + bias (ReLU).
func (d *Dense) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	if len(x.Shape) != 2 || x.Shape[1] != d.in {
		_, err := d.OutputShape(x.Shape)
		panic("nn: " + err.Error())
	}
	N := x.Shape[0]
	y, _ := d.output(N, d.out) // overwritten (beta = 0)
	kernels.Sgemm(false, false, N, d.out, d.in, 1, x.Data, d.in, d.Kernel.Value.Data, d.out, 0, y.Data, d.out)
	biasReLU(y.Data, d.Bias.Value.Data, d.out, d.relu)
	d.x, d.y, d.n = nil, nil, 0
	if d.retain(training) {
		d.n = N
		if d.trainable {
			d.x = x
		}
		if d.relu {
			d.y = y
		}
	}
	return y
}

// Backward, with dz = dy ⊙ [y > 0] under ReLU:
//
//	dKernel = xᵀ·dz (in × out),  dBias = Σ_n dz[n,:],  dx = dz·kernelᵀ (N × in)
func (d *Dense) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if d.n == 0 {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", d.name))
	}
	N := d.n
	if len(dy.Data) != N*d.out {
		panic(fmt.Sprintf("nn: layer %q: dy %v, want (%d, %d)", d.name, dy.Shape, N, d.out))
	}
	dz := dy.Data
	if d.relu {
		d.dz = ensure(d.dz, N*d.out)
		for i, v := range d.y.Data {
			if v > 0 {
				d.dz[i] = dz[i]
			} else {
				d.dz[i] = 0
			}
		}
		dz = d.dz
	}
	if d.trainable {
		if d.x == nil {
			panic(fmt.Sprintf("nn: layer %q: trainable but its input was not kept", d.name))
		}
		kernels.Sgemm(true, false, d.in, d.out, N, 1, d.x.Data, d.in, dz, d.out, 0, gradFor(d.Kernel).Data, d.out)
		db := gradFor(d.Bias).Data
		clear(db)
		for n := 0; n < N; n++ {
			for j, v := range dz[n*d.out : (n+1)*d.out] {
				db[j] += v
			}
		}
	}
	if !d.inputGrad {
		return nil
	}
	dx, _ := d.gradInput(tensor.Shape{N, d.in}) // overwritten (beta = 0)
	kernels.Sgemm(false, true, N, d.in, d.out, 1, dz, d.out, d.Kernel.Value.Data, d.out, 0, dx.Data, d.in)
	return dx
}
