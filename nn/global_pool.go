package nn

import (
	"fmt"
	"math"

	"github.com/gotransfer/gotransfer/tensor"
)

// GlobalPool2D reduces each channel over all of H and W (Keras
// GlobalAveragePooling2D / GlobalMaxPooling2D): x (N, H, W, C) -> y (N, C).
//
//	avg: y[n,c] = (1/(H·W)) Σ_{h,w} x[n,h,w,c]
//	max: y[n,c] = max_{h,w} x[n,h,w,c]
type GlobalPool2D struct {
	base
	max    bool
	xShape tensor.Shape
	argmax []int32 // max: flat index into x of each (n, c) winner

	argBuf []int32      // argmax storage reused inside a Model
	shape  tensor.Shape // xShape storage
}

// NewGlobalAvgPool2D returns Keras's GlobalAveragePooling2D: (N,H,W,C) -> (N,C).
func NewGlobalAvgPool2D(name string) Layer { return &GlobalPool2D{base: newBase(name)} }

// NewGlobalMaxPool2D returns Keras's GlobalMaxPooling2D: (N,H,W,C) -> (N,C).
func NewGlobalMaxPool2D(name string) Layer { return &GlobalPool2D{base: newBase(name), max: true} }

// Type returns the Keras class name.
func (g *GlobalPool2D) Type() string {
	if g.max {
		return "GlobalMaxPooling2D"
	}
	return "GlobalAveragePooling2D"
}

// Params returns nil.
func (g *GlobalPool2D) Params() []*Param { return nil }

// RetainedBytes reports the argmax kept for Backward (average keeps none).
func (g *GlobalPool2D) RetainedBytes() int64 { return 4 * int64(len(g.argmax)) }

// OutputShape returns (N, C).
func (g *GlobalPool2D) OutputShape(in tensor.Shape) (tensor.Shape, error) {
	if len(in) != 4 || in[1] <= 0 || in[2] <= 0 {
		return nil, fmt.Errorf("layer %q (%s): input %v, want (N, H, W, C) with H, W > 0", g.name, g.Type(), in)
	}
	return tensor.Shape{in[0], in[3]}, nil
}

// Forward reduces x (N, H, W, C) to (N, C).
func (g *GlobalPool2D) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	if _, err := g.OutputShape(x.Shape); err != nil {
		panic("nn: " + err.Error())
	}
	N, HW, C := x.Shape[0], x.Shape[1]*x.Shape[2], x.Shape[3]
	y, zeroed := g.output(N, C)
	if !zeroed {
		y.Zero() // the average accumulates
	}
	g.xShape, g.argmax = nil, nil
	var arg []int32
	if g.retain(training) {
		g.shape = append(g.shape[:0], x.Shape...)
		g.xShape = g.shape
		if g.max {
			if g.reuse && cap(g.argBuf) >= N*C {
				arg = g.argBuf[:N*C]
			} else {
				arg = make([]int32, N*C)
				g.argBuf = arg
			}
			g.argmax = arg
		}
	}
	for n := 0; n < N; n++ {
		out := y.Data[n*C : (n+1)*C]
		if g.max {
			for c := range out {
				out[c] = float32(math.Inf(-1))
			}
		}
		for p := 0; p < HW; p++ {
			off := (n*HW + p) * C
			src := x.Data[off : off+C]
			for c, v := range src {
				if g.max {
					if v > out[c] || p == 0 {
						out[c] = v
						if arg != nil {
							arg[n*C+c] = int32(off + c)
						}
					}
				} else {
					out[c] += v
				}
			}
		}
		if !g.max {
			inv := 1 / float32(HW)
			for c := range out {
				out[c] *= inv
			}
		}
	}
	return y
}

// Backward: avg dx[n,h,w,c] = dy[n,c]/(H·W); max dx[argmax] = dy[n,c], 0 elsewhere.
func (g *GlobalPool2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if g.xShape == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", g.name))
	}
	if !g.inputGrad {
		return nil
	}
	dx, zeroed := g.gradInput(g.xShape)
	N, HW, C := g.xShape[0], g.xShape[1]*g.xShape[2], g.xShape[3]
	if g.max {
		if !zeroed {
			dx.Zero()
		}
		for i, src := range g.argmax {
			dx.Data[src] += dy.Data[i]
		}
		return dx
	}
	inv := 1 / float32(HW)
	for n := 0; n < N; n++ {
		grad := dy.Data[n*C : (n+1)*C]
		for p := 0; p < HW; p++ {
			d := dx.Data[(n*HW+p)*C:][:C]
			for c, v := range grad {
				d[c] = v * inv
			}
		}
	}
	return dx
}

// Flatten reshapes (N, d1, ..., dk) to (N, d1·…·dk) without copying (Keras
// Flatten; for NHWC input the order is h, w, c, as Keras's channels_last).
type Flatten struct {
	base
	xShape tensor.Shape

	shape       tensor.Shape  // xShape storage
	out, dxView tensor.Tensor // view headers reused inside a Model
}

// NewFlatten returns a Flatten layer.
func NewFlatten(name string) Layer { return &Flatten{base: newBase(name)} }

// Type returns "Flatten".
func (f *Flatten) Type() string { return "Flatten" }

// Params returns nil.
func (f *Flatten) Params() []*Param { return nil }

// RetainedBytes is 0: Flatten keeps only the input shape.
func (f *Flatten) RetainedBytes() int64 { return 0 }

// OutputShape returns (N, product of the other axes).
func (f *Flatten) OutputShape(in tensor.Shape) (tensor.Shape, error) {
	if len(in) < 1 {
		return nil, fmt.Errorf("layer %q (Flatten): input %v has no batch axis", f.name, in)
	}
	return tensor.Shape{in[0], in[1:].Size()}, nil
}

// Forward returns a (N, -1) view of x sharing its data.
func (f *Flatten) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	f.xShape = nil
	if f.retain(training) {
		f.shape = append(f.shape[:0], x.Shape...)
		f.xShape = f.shape
	}
	if !f.reuse {
		return x.Reshape(x.Shape[0], x.Shape[1:].Size())
	}
	// Inside a Model: one reused view header (its consumer is done with the
	// previous one by the time Forward runs again).
	f.out.Shape = append(f.out.Shape[:0], x.Shape[0], x.Shape[1:].Size())
	f.out.Data = x.Data
	return &f.out
}

// Backward reshapes dy back to the input shape (a view).
func (f *Flatten) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if f.xShape == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", f.name))
	}
	if !f.inputGrad {
		return nil
	}
	if !f.reuse {
		return dy.Reshape(f.xShape...)
	}
	f.dxView.Shape = append(f.dxView.Shape[:0], f.xShape...)
	f.dxView.Data = dy.Data
	return &f.dxView
}
