package nn

import (
	"fmt"
	"strings"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// ConvOptions configures a Conv2D. Zero values give Keras's defaults
// (stride 1, 'valid', dilation 1, with bias, no activation).
type ConvOptions struct {
	StrideH, StrideW int    // 0 means 1
	Padding          string // "same" or "valid" (Keras); "" = "valid"; also "same_upper", "same_lower" (ONNX) and "explicit"
	Pads             [4]int // explicit [top, left, bottom, right], used when Padding == "explicit"
	DilationH        int    // 0 means 1
	DilationW        int    // 0 means 1
	NoBias           bool
	ReLU             bool   // fused activation (Keras activation='relu')
	Algorithm        string // ConvAuto ("" too), ConvDirect, ConvWinograd ...: see conv_algorithms.go
}

// Conv2D is a 2-D convolution (cross-correlation, like Keras and ONNX) over
// NHWC images:
//
//	y[n,oh,ow,m] = bias[m] + Σ_{i,j,c} x[n, oh·sH − padTop + i·dH, ow·sW − padLeft + j·dW, c] · kernel[i,j,c,m]
//
// with taps outside the image counting as zero, then ReLU if fused.
//
// The kernel has Keras's layout (kh, kw, cin, cout), which read row-major is
// exactly the GEMM matrix B of shape (K = kh·kw·cin, cout). The im2col
// matrix A has one row per output pixel (M = N·OH·OW rows) holding that
// pixel's patch in (i, j, c) order, so y = A·B. conv_reference.go computes
// exactly that; the other algorithms (conv_algorithms.go) compute the same
// product without materialising A.
type Conv2D struct {
	base
	Kernel, Bias *Param // Kernel.Value (kh, kw, cin, cout); Bias.Value (cout); Bias nil with NoBias
	kh, kw       int
	cin, cout    int
	opt          ConvOptions
	tune         convThresholds // the decision table's thresholds (tests change them per layer)
	pinned       string         // tests: an algorithm name overriding GOTRANSFER_CONV and opt.Algorithm

	// backward state (only on training Forward with keep)
	x      *tensor.Tensor // input, kept when the kernel is trainable (for dW)
	y      *tensor.Tensor // output, kept when ReLU is fused (for the mask)
	mask   []uint16       // y > 0 as bits (kernels.ReluMask), when maskOK
	maskOK bool           // the forward recorded mask for this y
	xShape tensor.Shape   // input shape; nil when no backward state is kept
	shape  tensor.Shape   // storage for xShape
	geom   convGeom       // geometry of the last Forward
	plan   convPlan       // algorithms of the last Forward (conv_algorithms.go)

	algs [numConvAlgs]convAlgorithm // the algorithms used so far, each with its scratch
}

// NewConv2D returns a convolution with zero weights (see InitParams). It
// panics when a size is not positive.
func NewConv2D(name string, kh, kw, cin, cout int, opt ConvOptions) *Conv2D {
	if kh <= 0 || kw <= 0 || cin <= 0 || cout <= 0 {
		panic(fmt.Sprintf("nn.NewConv2D %q: sizes must be positive, got kernel %dx%d, %d->%d channels", name, kh, kw, cin, cout))
	}
	if !validAlgorithm(opt.Algorithm) {
		panic(fmt.Sprintf("nn.NewConv2D %q: unknown Algorithm %q (want one of %s)", name, opt.Algorithm, strings.Join(convNames, ", ")))
	}
	c := &Conv2D{base: newBase(name), kh: kh, kw: kw, cin: cin, cout: cout, opt: opt, tune: defaultConvThresholds()}
	c.Kernel = &Param{Name: name + "/kernel", Value: tensor.New(kh, kw, cin, cout)}
	if !opt.NoBias {
		c.Bias = &Param{Name: name + "/bias", Value: tensor.New(cout)}
	}
	return c
}

// Type returns "Conv2D".
func (c *Conv2D) Type() string { return "Conv2D" }

// KernelSize returns (kh, kw, cin, cout).
func (c *Conv2D) KernelSize() (kh, kw, cin, cout int) { return c.kh, c.kw, c.cin, c.cout }

// Options returns the layer's configuration.
func (c *Conv2D) Options() ConvOptions { return c.opt }

// Params returns kernel then bias (Keras order).
func (c *Conv2D) Params() []*Param {
	if c.Bias == nil {
		return []*Param{c.Kernel}
	}
	return []*Param{c.Kernel, c.Bias}
}

// RetainedBytes reports the bytes of input/output kept for Backward.
func (c *Conv2D) RetainedBytes() int64 { return bytesOf(c.x) + bytesOf(c.y) }

func (c *Conv2D) geometry(in tensor.Shape) (gh, gw axisGeom, err error) {
	if len(in) != 4 || in[3] != c.cin {
		return gh, gw, fmt.Errorf("layer %q (Conv2D): input %v, want (N, H, W, %d)", c.name, in, c.cin)
	}
	o := c.opt
	gh, err = resolveAxis(in[1], c.kh, o.StrideH, o.DilationH, o.Padding, o.Pads[0], o.Pads[2], false)
	if err == nil {
		gw, err = resolveAxis(in[2], c.kw, o.StrideW, o.DilationW, o.Padding, o.Pads[1], o.Pads[3], false)
	}
	if err != nil {
		err = fmt.Errorf("layer %q (Conv2D): input %v: %w", c.name, in, err)
	}
	return gh, gw, err
}

// OutputShape returns (N, OH, OW, cout).
func (c *Conv2D) OutputShape(in tensor.Shape) (tensor.Shape, error) {
	gh, gw, err := c.geometry(in)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{in[0], gh.out, gw.out, c.cout}, nil
}

// Forward computes y = A·kernel (+ bias, ReLU) with the algorithm the
// decision table (conv_algorithms.go) picks for this call. x is (N, H, W,
// cin); y is (N, OH, OW, cout).
func (c *Conv2D) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	gh, gw, err := c.geometry(x.Shape)
	if err != nil {
		panic("nn: " + err.Error())
	}
	N, H, W := x.Shape[0], x.Shape[1], x.Shape[2]
	// c.geom is overwritten even when nothing is kept: Backward then refuses to run.
	c.geom = convGeom{N: N, H: H, W: W, gh: gh, gw: gw, M: N * gh.out * gw.out, K: c.kh * c.kw * c.cin}
	y, _ := c.output(N, gh.out, gw.out, c.cout) // fully overwritten by every algorithm
	c.plan = c.choose(N, gh, gw)
	keep := c.retain(training)
	masked := c.algorithm(c.plan.fwd).forward(c, &c.geom, x.Data, y.Data, keep)
	c.x, c.y, c.xShape, c.maskOK = nil, nil, nil, masked
	if keep {
		c.shape = append(c.shape[:0], x.Shape...)
		c.xShape = c.shape
		if c.trainable {
			c.x = x
		}
		if c.opt.ReLU {
			c.y = y
		}
	}
	return y
}

// Backward takes dy (N, OH, OW, cout) and, with dz = dy ⊙ [y > 0] when ReLU is fused:
//
//	dBias[m]  = Σ_r dz[r, m]
//	dKernel   = Aᵀ · dz        (K × cout)
//	dx        = col2im(dz · kernelᵀ)
//
// dKernel and dBias only when trainable; dx only when the plan asks for it.
func (c *Conv2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if c.xShape == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", c.name))
	}
	g := &c.geom
	if len(dy.Data) != g.M*c.cout {
		panic(fmt.Sprintf("nn: layer %q: dy %v does not match output (%d, %d, %d, %d)", c.name, dy.Shape, g.N, g.gh.out, g.gw.out, c.cout))
	}
	if c.trainable && c.x == nil {
		panic(fmt.Sprintf("nn: layer %q: trainable but its input was not kept (Forward ran with training=false or keep=false)", c.name))
	}
	if !c.trainable && !c.inputGrad {
		return nil
	}
	return c.algorithm(c.plan.bwd).backward(c, g, dy.Data, c.trainable)
}

// biasGrad returns dBias's storage when the backward computes it, else nil.
func (c *Conv2D) biasGrad(wantW bool) []float32 {
	if !wantW || c.Bias == nil {
		return nil
	}
	return gradFor(c.Bias).Data
}

// patchesOf returns the im2col description of x (forward and dKernel).
func (c *Conv2D) patchesOf(x []float32, g *convGeom) *patches {
	return &patches{src: x, H: g.H, W: g.W, C: c.cin, OH: g.gh.out, OW: g.gw.out, kh: c.kh, kw: c.kw,
		sh: g.gh.stride, sw: g.gw.stride, dh: g.gh.dilation, dw: g.gw.dilation, pt: g.gh.padBegin, pl: g.gw.padBegin}
}

// biasReLU applies y[r, :] += bias, then max(·, 0) when relu, over rows of width n.
func biasReLU(y, bias []float32, n int, relu bool) {
	if bias != nil {
		kernels.AddBias(y, bias)
	}
	if relu {
		kernels.Relu(y, y)
	}
}

// bias returns the bias values, or nil without bias.
func (c *Conv2D) bias() []float32 {
	if c.Bias == nil {
		return nil
	}
	return c.Bias.Value.Data
}
