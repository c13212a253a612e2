package nn

import (
	"fmt"

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
	ReLU             bool // fused activation (Keras activation='relu')
}

// Conv2D is a 2-D convolution (cross-correlation, like Keras and ONNX) over
// NHWC images:
//
//	y[n,oh,ow,m] = bias[m] + Σ_{i,j,c} x[n, oh·sH − padTop + i·dH, ow·sW − padLeft + j·dW, c] · kernel[i,j,c,m]
//
// with taps outside the image counting as zero, then ReLU if fused.
//
// The kernel has Keras's layout (kh, kw, cin, cout), which read row-major is
// exactly the GEMM matrix B of shape (K = kh·kw·cin, cout). The virtual im2col
// matrix A has one row per output pixel (M = N·OH·OW rows) holding that
// pixel's patch in (i, j, c) order, so y = A·B (implicit GEMM: rows of A are
// produced on demand by a kernels.RowSource, never materialised whole).
type Conv2D struct {
	base
	Kernel, Bias *Param // Kernel.Value (kh, kw, cin, cout); Bias.Value (cout); Bias nil with NoBias
	kh, kw       int
	cin, cout    int
	opt          ConvOptions

	// backward state (only on training Forward with keep)
	x      *tensor.Tensor // input, kept when the kernel is trainable (for dW)
	y      *tensor.Tensor // output, kept when ReLU is fused (for the mask)
	xShape tensor.Shape
	gh, gw axisGeom

	// scratch reused across calls
	tile []float32 // bounded im2col / dPatches tile
	dz   []float32 // dy masked by ReLU
}

// NewConv2D returns a convolution with zero weights (see InitParams). It
// panics when a size is not positive.
func NewConv2D(name string, kh, kw, cin, cout int, opt ConvOptions) *Conv2D {
	if kh <= 0 || kw <= 0 || cin <= 0 || cout <= 0 {
		panic(fmt.Sprintf("nn.NewConv2D %q: sizes must be positive, got kernel %dx%d, %d->%d channels", name, kh, kw, cin, cout))
	}
	c := &Conv2D{base: newBase(name), kh: kh, kw: kw, cin: cin, cout: cout, opt: opt}
	c.Kernel = &Param{Name: name + "/kernel", Value: tensor.New(kh, kw, cin, cout)}
	if !opt.NoBias {
		c.Bias = &Param{Name: name + "/bias", Value: tensor.New(cout)}
	}
	return c
}

// Type returns "Conv2D".
func (c *Conv2D) Type() string { return "Conv2D" }

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

// pointwise reports whether the convolution is a plain GEMM on the input
// (1x1 kernel, stride 1, no padding): then A is x itself, (N·H·W, cin).
func (c *Conv2D) pointwise(gh, gw axisGeom) bool {
	return c.kh == 1 && c.kw == 1 && gh.stride == 1 && gw.stride == 1 &&
		gh.padBegin == 0 && gh.padEnd == 0 && gw.padBegin == 0 && gw.padEnd == 0
}

// patchRows returns the RowSource of the virtual im2col matrix of x:
// A[r, p] with r = (n·OH + oh)·OW + ow and p = (i·kw + j)·cin + c. It copies
// channel runs straight from x and writes zeros for padding taps.
func (c *Conv2D) patchRows(x []float32, H, W int, gh, gw axisGeom) kernels.RowSource {
	cin, kw := c.cin, c.kw
	ohw := gh.out * gw.out
	return func(dst []float32, r, p0, kc int) {
		n, rem := r/ohw, r%ohw
		oh, ow := rem/gw.out, rem%gw.out
		ih0 := oh*gh.stride - gh.padBegin
		iw0 := ow*gw.stride - gw.padBegin
		img := x[n*H*W*cin:]
		tap, ch := p0/cin, p0%cin
		for done := 0; done < kc; tap, ch = tap+1, 0 {
			seg := min(cin-ch, kc-done)
			i, j := tap/kw, tap%kw
			ih, iw := ih0+i*gh.dilation, iw0+j*gw.dilation
			out := dst[done : done+seg]
			if ih < 0 || ih >= H || iw < 0 || iw >= W {
				clear(out)
			} else {
				off := (ih*W+iw)*cin + ch
				copy(out, img[off:off+seg])
			}
			done += seg
		}
	}
}

// col2imAdd scatters the dPatches rows [r0, r0+rows) held in tile (rows×K) back
// onto dx: dx[n, ih, iw, c] += dA[r, (i·kw + j)·cin + c] for every in-bounds tap.
func (c *Conv2D) col2imAdd(dx, tile []float32, r0, rows, H, W int, gh, gw axisGeom) {
	cin, K := c.cin, c.kh*c.kw*c.cin
	ohw := gh.out * gw.out
	for r := r0; r < r0+rows; r++ {
		n, rem := r/ohw, r%ohw
		oh, ow := rem/gw.out, rem%gw.out
		ih0 := oh*gh.stride - gh.padBegin
		iw0 := ow*gw.stride - gw.padBegin
		img := dx[n*H*W*cin:]
		src := tile[(r-r0)*K:]
		for i := 0; i < c.kh; i++ {
			ih := ih0 + i*gh.dilation
			if ih < 0 || ih >= H {
				continue
			}
			for j := 0; j < c.kw; j++ {
				iw := iw0 + j*gw.dilation
				if iw < 0 || iw >= W {
					continue
				}
				d := img[(ih*W+iw)*cin : (ih*W+iw)*cin+cin]
				s := src[(i*c.kw+j)*cin : (i*c.kw+j)*cin+cin]
				for k := range d {
					d[k] += s[k]
				}
			}
		}
	}
}

// Forward computes y = A·kernel (+ bias, ReLU). x is (N, H, W, cin); y is
// (N, OH, OW, cout). Extra memory is bounded by GEMM packing buffers.
func (c *Conv2D) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	gh, gw, err := c.geometry(x.Shape)
	if err != nil {
		panic("nn: " + err.Error())
	}
	N, H, W := x.Shape[0], x.Shape[1], x.Shape[2]
	M, K := N*gh.out*gw.out, c.kh*c.kw*c.cin
	y := tensor.New(N, gh.out, gw.out, c.cout)
	w := c.Kernel.Value.Data
	if c.pointwise(gh, gw) {
		kernels.Sgemm(false, false, M, c.cout, K, 1, x.Data, K, w, c.cout, 0, y.Data, c.cout)
	} else {
		kernels.SgemmRows(M, c.cout, K, 1, c.patchRows(x.Data, H, W, gh, gw), w, c.cout, 0, y.Data, c.cout)
	}
	// Bias and fused ReLU over the (M, cout) rows of y.
	// TODO(kernels): use kernels.SgemmRowsBiasReLU once it exists to fuse this pass into the GEMM.
	var bias []float32
	if c.Bias != nil {
		bias = c.Bias.Value.Data
	}
	if bias != nil || c.opt.ReLU {
		biasReLU(y.Data, bias, c.cout, c.opt.ReLU)
	}
	c.x, c.y, c.xShape = nil, nil, nil
	if c.retain(training) {
		c.xShape, c.gh, c.gw = x.Shape.Clone(), gh, gw
		if c.trainable {
			c.x = x
		}
		if c.opt.ReLU {
			c.y = y
		}
	}
	return y
}

// biasReLU applies y[r, m] = max(0?, y[r, m] + bias[m]) over rows of width n.
func biasReLU(y, bias []float32, n int, relu bool) {
	for r := 0; r+n <= len(y); r += n {
		row := y[r : r+n]
		if bias != nil {
			for m, b := range bias {
				row[m] += b
			}
		}
		if relu {
			for m, v := range row {
				if v < 0 {
					row[m] = 0
				}
			}
		}
	}
}

// Backward takes dy (N, OH, OW, cout) and, with dz = dy ⊙ [y > 0] when ReLU is fused:
//
//	dBias[m]  = Σ_r dz[r, m]
//	dKernel   = Aᵀ · dz        (K × cout), a GEMM over bounded tiles of patch rows
//	dA        = dz · kernelᵀ   (M × K), per tile, then col2im: dx[n,ih,iw,c] += dA[r, p]
//
// dKernel/dBias only when trainable; dx only when the plan asks for it.
func (c *Conv2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if c.xShape == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", c.name))
	}
	gh, gw := c.gh, c.gw
	N, H, W := c.xShape[0], c.xShape[1], c.xShape[2]
	M, K, cout := N*gh.out*gw.out, c.kh*c.kw*c.cin, c.cout
	if len(dy.Data) != M*cout {
		panic(fmt.Sprintf("nn: layer %q: dy %v does not match output (%d, %d, %d, %d)", c.name, dy.Shape, N, gh.out, gw.out, cout))
	}
	dz := dy.Data
	if c.opt.ReLU {
		c.dz = ensure(c.dz, M*cout)
		for i, v := range c.y.Data {
			if v > 0 {
				c.dz[i] = dz[i]
			} else {
				c.dz[i] = 0
			}
		}
		dz = c.dz
	}
	wantW := c.trainable && c.x != nil
	if c.trainable && c.x == nil {
		panic(fmt.Sprintf("nn: layer %q: trainable but its input was not kept (Forward ran with training=false or keep=false)", c.name))
	}
	if wantW && c.Bias != nil {
		db := gradFor(c.Bias).Data
		clear(db)
		for r := 0; r < M; r++ {
			row := dz[r*cout : r*cout+cout]
			for m, v := range row {
				db[m] += v
			}
		}
	}
	var dx *tensor.Tensor
	if c.inputGrad {
		dx = tensor.New(c.xShape...)
	}
	if !wantW && dx == nil {
		return nil
	}
	w := c.Kernel.Value.Data
	var dw []float32
	if wantW {
		dw = gradFor(c.Kernel).Data
	}
	if c.pointwise(gh, gw) {
		if wantW { // dW = xᵀ·dz: (cin × M)·(M × cout)
			kernels.Sgemm(true, false, K, cout, M, 1, c.x.Data, K, dz, cout, 0, dw, cout)
		}
		if dx != nil { // dx = dz·Wᵀ: (M × cout)·(cout × cin)
			kernels.Sgemm(false, true, M, K, cout, 1, dz, cout, w, cout, 0, dx.Data, K)
		}
		return dx
	}
	// Tiles of T patch rows keep the scratch at about 4 MB whatever the batch.
	T := min(M, max(64, (1<<20)/K))
	c.tile = ensure(c.tile, T*K)
	var rows kernels.RowSource
	if wantW {
		rows = c.patchRows(c.x.Data, H, W, gh, gw)
	}
	for r0 := 0; r0 < M; r0 += T {
		tr := min(T, M-r0)
		tile := c.tile[:tr*K]
		dzt := dz[r0*cout : (r0+tr)*cout]
		if wantW {
			for r := 0; r < tr; r++ {
				rows(tile[r*K:(r+1)*K], r0+r, 0, K)
			}
			beta := float32(1)
			if r0 == 0 {
				beta = 0
			}
			kernels.Sgemm(true, false, K, cout, tr, 1, tile, K, dzt, cout, beta, dw, cout)
		}
		if dx != nil {
			kernels.Sgemm(false, true, tr, K, cout, 1, dzt, cout, w, cout, 0, tile, K)
			c.col2imAdd(dx.Data, tile, r0, tr, H, W, gh, gw)
		}
	}
	return dx
}
