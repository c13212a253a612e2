package nn

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/gotransfer/gotransfer/tensor"
)

// PoolOptions configures a Pool2D window. Zero strides/dilations mean 1.
type PoolOptions struct {
	KH, KW           int    // window size
	StrideH, StrideW int    // 0 means 1
	Padding          string // "valid" (or ""), "same"/"same_upper", "same_lower", "explicit"
	Pads             [4]int // [top, left, bottom, right] when Padding == "explicit"
	DilationH        int    // 0 means 1
	DilationW        int    // 0 means 1
	CeilMode         bool   // ceil instead of floor in the output size (ONNX ceil_mode, PyTorch rule for the last window)
	CountIncludePad  bool   // average pooling: divide by the taps inside the padded input instead of the taps inside the image
}

// Pool2D is max or average pooling over NHWC images, per channel:
//
//	max: y[n,oh,ow,c] = max over in-image taps (ih, iw) of x[n,ih,iw,c]   (padding never wins)
//	avg: y[n,oh,ow,c] = Σ in-image taps x[n,ih,iw,c] / count
//
// with ih = oh·sH − padTop + i·dH (likewise iw), and count the number of
// in-image taps (Keras, ONNX count_include_pad=0) or, with CountIncludePad,
// the taps inside the padded input.
type Pool2D struct {
	base
	max bool
	opt PoolOptions

	argmax []int32 // max: flat NHWC input index of each output's winner (kept for Backward)
	xShape tensor.Shape
	gh, gw axisGeom

	argBuf []int32      // argmax storage reused inside a Model
	shape  tensor.Shape // xShape storage

	// the running forward call, for the workers (runRange)
	job struct {
		x, y   *tensor.Tensor
		arg    []int32
		gh, gw axisGeom
		acc    [][]float32 // per-worker scratch
		best   [][]int32
		wg     sync.WaitGroup
	}
}

// NewMaxPool2D returns Keras's MaxPooling2D(pool_size=(ph,pw), strides=(sh,sw), padding=padding).
func NewMaxPool2D(name string, ph, pw, sh, sw int, padding string) *Pool2D {
	return NewPool2D(name, true, PoolOptions{KH: ph, KW: pw, StrideH: sh, StrideW: sw, Padding: padding})
}

// NewAvgPool2D returns Keras's AveragePooling2D (padding excluded from the mean).
func NewAvgPool2D(name string, ph, pw, sh, sw int, padding string) *Pool2D {
	return NewPool2D(name, false, PoolOptions{KH: ph, KW: pw, StrideH: sh, StrideW: sw, Padding: padding})
}

// NewPool2D returns a max (isMax) or average pooling layer with every option.
// It panics when the window size is not positive.
func NewPool2D(name string, isMax bool, opt PoolOptions) *Pool2D {
	if opt.KH <= 0 || opt.KW <= 0 {
		panic(fmt.Sprintf("nn.NewPool2D %q: window %dx%d must be positive", name, opt.KH, opt.KW))
	}
	return &Pool2D{base: newBase(name), max: isMax, opt: opt}
}

// Type returns "MaxPooling2D" or "AveragePooling2D".
func (p *Pool2D) Type() string {
	if p.max {
		return "MaxPooling2D"
	}
	return "AveragePooling2D"
}

// Options returns the window configuration.
func (p *Pool2D) Options() PoolOptions { return p.opt }

// IsMax reports whether this is max pooling.
func (p *Pool2D) IsMax() bool { return p.max }

// Params returns nil: pooling has no weights.
func (p *Pool2D) Params() []*Param { return nil }

// RetainedBytes reports the argmax indices kept for Backward (average pooling keeps none).
func (p *Pool2D) RetainedBytes() int64 { return 4 * int64(len(p.argmax)) }

func (p *Pool2D) geometry(in tensor.Shape) (gh, gw axisGeom, err error) {
	if len(in) != 4 {
		return gh, gw, fmt.Errorf("layer %q (%s): input %v, want (N, H, W, C)", p.name, p.Type(), in)
	}
	o := p.opt
	gh, err = resolveAxis(in[1], o.KH, o.StrideH, o.DilationH, o.Padding, o.Pads[0], o.Pads[2], o.CeilMode)
	if err == nil {
		gw, err = resolveAxis(in[2], o.KW, o.StrideW, o.DilationW, o.Padding, o.Pads[1], o.Pads[3], o.CeilMode)
	}
	if err != nil {
		err = fmt.Errorf("layer %q (%s): input %v: %w", p.name, p.Type(), in, err)
	}
	return gh, gw, err
}

// OutputShape returns (N, OH, OW, C).
func (p *Pool2D) OutputShape(in tensor.Shape) (tensor.Shape, error) {
	gh, gw, err := p.geometry(in)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{in[0], gh.out, gw.out, in[3]}, nil
}

// window returns the in-image taps [t0, t1) of output o on one axis (taps
// t with 0 <= o·s − pb + t·d < in), and how many taps lie inside the padded
// input (for CountIncludePad).
func (g axisGeom) window(o int) (t0, t1, padded int) {
	start := o*g.stride - g.padBegin
	t0, t1 = 0, g.kernel
	for t0 < t1 && start+t0*g.dilation < 0 {
		t0++
	}
	for t1 > t0 && start+(t1-1)*g.dilation >= g.in {
		t1--
	}
	for t := 0; t < g.kernel; t++ {
		if pos := start + t*g.dilation; pos >= -g.padBegin && pos < g.in+g.padEnd {
			padded++
		}
	}
	return t0, t1, padded
}

// ForwardArgMax runs max pooling and also returns, for every output element,
// the flat NHWC index into x of its maximum (−1 if the window holds no image
// tap). It panics for average pooling.
func (p *Pool2D) ForwardArgMax(x *tensor.Tensor) (*tensor.Tensor, []int32) {
	if !p.max {
		panic(fmt.Sprintf("nn: layer %q: ForwardArgMax on average pooling", p.name))
	}
	gh, gw, err := p.geometry(x.Shape)
	if err != nil {
		panic("nn: " + err.Error())
	}
	y := tensor.New(x.Shape[0], gh.out, gw.out, x.Shape[3])
	arg := make([]int32, len(y.Data))
	p.forward(x, y, arg, gh, gw)
	return y, arg
}

// Forward pools x (N, H, W, C) into y (N, OH, OW, C).
func (p *Pool2D) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	gh, gw, err := p.geometry(x.Shape)
	if err != nil {
		panic("nn: " + err.Error())
	}
	y, _ := p.output(x.Shape[0], gh.out, gw.out, x.Shape[3]) // every element written
	p.argmax, p.xShape = nil, nil
	var arg []int32
	if p.retain(training) {
		p.shape = append(p.shape[:0], x.Shape...)
		p.xShape, p.gh, p.gw = p.shape, gh, gw
		if p.max {
			if p.reuse && cap(p.argBuf) >= len(y.Data) {
				arg = p.argBuf[:len(y.Data)]
			} else {
				arg = make([]int32, len(y.Data))
				p.argBuf = arg
			}
			p.argmax = arg
		}
	}
	p.forward(x, y, arg, gh, gw)
	return y
}

// forward fills y; arg (may be nil) receives max-pooling winners.
func (p *Pool2D) forward(x, y *tensor.Tensor, arg []int32, gh, gw axisGeom) {
	N, H, W, C := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if H*W*C*N >= math.MaxInt32 && arg != nil {
		panic(fmt.Sprintf("nn: layer %q: input %v too large for int32 argmax", p.name, x.Shape))
	}
	// Output rows (n, oh) are independent: split them over the cores.
	j := &p.job
	j.x, j.y, j.arg, j.gh, j.gw = x, y, arg, gh, gw
	for w := len(j.acc); w < runtime.GOMAXPROCS(0); w++ {
		j.acc, j.best = append(j.acc, nil), append(j.best, nil)
	}
	for w := range j.acc {
		if cap(j.acc[w]) < C {
			j.acc[w], j.best[w] = make([]float32, C), make([]int32, C)
		}
	}
	parallelRange(N*gh.out, p, &j.wg)
	j.x, j.y, j.arg = nil, nil, nil
}

// runRange pools output rows [lo, hi) of the running forward call (p.job).
func (p *Pool2D) runRange(worker, lo, hi int) {
	j := &p.job
	x, y, arg, gh, gw := j.x, j.y, j.arg, j.gh, j.gw
	H, W, C := x.Shape[1], x.Shape[2], x.Shape[3]
	acc, best := j.acc[worker][:C], j.best[worker][:C]
	if p.max && arg == nil && gh.kernel == 2 && gw.kernel == 2 && gh.stride == 2 && gw.stride == 2 &&
		gh.dilation == 1 && gw.dilation == 1 && gh.padBegin == 0 && gw.padBegin == 0 &&
		2*gh.out <= H && 2*gw.out <= W {
		maxPool2x2(x.Data, y.Data, H, W, C, gh.out, gw.out, lo, hi)
		return
	}
	{
		for row := lo; row < hi; row++ {
			n, oh := row/gh.out, row%gh.out
			i0, i1, ph := gh.window(oh)
			ihs := oh*gh.stride - gh.padBegin
			for ow := 0; ow < gw.out; ow++ {
				j0, j1, pw := gw.window(ow)
				iws := ow*gw.stride - gw.padBegin
				out := y.Data[((n*gh.out+oh)*gw.out+ow)*C:][:C]
				if p.max {
					for c := range acc {
						acc[c] = float32(math.Inf(-1))
						best[c] = -1
					}
				} else {
					clear(acc)
				}
				for i := i0; i < i1; i++ {
					ih := ihs + i*gh.dilation
					for j := j0; j < j1; j++ {
						iw := iws + j*gw.dilation
						base := ((n*H+ih)*W + iw) * C
						src := x.Data[base : base+C]
						if p.max {
							for c, v := range src {
								if v > acc[c] || best[c] < 0 {
									acc[c], best[c] = v, int32(base+c)
								}
							}
						} else {
							for c, v := range src {
								acc[c] += v
							}
						}
					}
				}
				if p.max {
					copy(out, acc)
					for c := range out {
						if best[c] < 0 {
							out[c] = 0
						}
					}
					if arg != nil {
						copy(arg[((n*gh.out+oh)*gw.out+ow)*C:][:C], best)
					}
					continue
				}
				count := (i1 - i0) * (j1 - j0)
				if p.opt.CountIncludePad {
					count = ph * pw
				}
				inv := float32(0)
				if count > 0 {
					inv = 1 / float32(count)
				}
				for c := range out {
					out[c] = acc[c] * inv
				}
			}
		}
	}
}

// Backward routes dy (N, OH, OW, C) to dx (N, H, W, C):
//
//	max: dx[argmax(o)] += dy[o]
//	avg: dx[tap] += dy[o] / count for every in-image tap of o
func (p *Pool2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if p.xShape == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", p.name))
	}
	if !p.inputGrad {
		return nil
	}
	dx, zeroed := p.gradInput(p.xShape) // accumulated into below
	if !zeroed {
		dx.Zero()
	}
	if p.max {
		for o, src := range p.argmax {
			if src >= 0 {
				dx.Data[src] += dy.Data[o]
			}
		}
		return dx
	}
	gh, gw := p.gh, p.gw
	N, H, W, C := p.xShape[0], p.xShape[1], p.xShape[2], p.xShape[3]
	for n := 0; n < N; n++ {
		for oh := 0; oh < gh.out; oh++ {
			i0, i1, ph := gh.window(oh)
			for ow := 0; ow < gw.out; ow++ {
				j0, j1, pw := gw.window(ow)
				count := (i1 - i0) * (j1 - j0)
				if p.opt.CountIncludePad {
					count = ph * pw
				}
				if count == 0 {
					continue
				}
				inv := 1 / float32(count)
				g := dy.Data[((n*gh.out+oh)*gw.out+ow)*C:][:C]
				for i := i0; i < i1; i++ {
					ih := oh*gh.stride - gh.padBegin + i*gh.dilation
					for j := j0; j < j1; j++ {
						iw := ow*gw.stride - gw.padBegin + j*gw.dilation
						d := dx.Data[((n*H+ih)*W+iw)*C:][:C]
						for c, v := range g {
							d[c] += v * inv
						}
					}
				}
			}
		}
	}
	return dx
}

// maxPool2x2 is the common case (VGG's pools: 2x2 window, stride 2, no
// padding, no argmax) for output rows [lo, hi) of (n, oh):
//
//	y[n,oh,ow,c] = max(x[n,2oh,2ow,c], x[n,2oh,2ow+1,c], x[n,2oh+1,2ow,c], x[n,2oh+1,2ow+1,c])
//
// taking later taps only when strictly greater, like the general loop.
func maxPool2x2(x, y []float32, H, W, C, OH, OW, lo, hi int) {
	for row := lo; row < hi; row++ {
		n, oh := row/OH, row%OH
		top := x[((n*H+2*oh)*W)*C:][:W*C]
		bot := x[((n*H+2*oh+1)*W)*C:][:W*C]
		out := y[row*OW*C:][:OW*C]
		for ow := 0; ow < OW; ow++ {
			a, b := top[2*ow*C:][:C], top[(2*ow+1)*C:][:C]
			c, d := bot[2*ow*C:][:C], bot[(2*ow+1)*C:][:C]
			o := out[ow*C:][:C]
			for i := range o {
				v := a[i]
				if b[i] > v {
					v = b[i]
				}
				if c[i] > v {
					v = c[i]
				}
				if d[i] > v {
					v = d[i]
				}
				o[i] = v
			}
		}
	}
}
