package nn

import (
	"fmt"
	"runtime"
	"sync"

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
	Algorithm        string // ConvAuto ("" too), ConvDirect or ConvWinograd; see conv_winograd.go
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
	mask   []uint16       // y > 0 as bits (kernels.ReluMask), when maskOK
	maskOK bool           // the stacked forward recorded mask for this y
	xShape tensor.Shape   // input shape; nil when no backward state is kept
	gh, gw axisGeom

	// scratch reused across calls
	tile       []float32   // bounded im2col / dPatches tile
	dz         []float32   // dy masked by ReLU
	wt         []float32   // flipped, transposed kernel for the stride-1 dx GEMM
	dwT        []float32   // per-core dKernelᵀ (cout × K) of the transposed dKernel GEMM, or dKernel (K × cout) of toeplitzKernelGrad
	dbPart     []float32   // per-core partial bias gradients (GOMAXPROCS × cout)
	mb         maskBiasJob // the running maskAndBiasGrad call
	kg         kernelGradJob
	gradShares []gradShare       // per-core patch-row sources of the transposed kernelGrad
	toe        []toeplitzScratch // per-core scratch of the in-place kernelGrad (conv_toeplitz.go)
	toeJob     toeplitzJob
	fwd        patches    // im2col description of the current Forward
	stk        stacked    // thin-input patch layout (conv_stacked.go)
	sfwd       stackedFwd // the running banded stacked forward
	wp         []float32  // kernel rows permuted to the stacked (j, i, c) order
	wtp        []float32  // kernelᵀ zero-padded to a multiple of 32 columns (thin dx)
	gather     thinGather // the running thin dx gather
	fused      thinFused  // the running thinBackward call
	fwdRows    kernels.RowSource
	shape      tensor.Shape // storage for xShape

	wino      *winoPlans // Winograd plans shared by the Model's convolutions (set by Model.Forward)
	ownWino   *winoPlans // this layer's own plans when used outside a Model
	batchHint int        // whole-batch size while a Model runs this layer on micro-batches
}

// NewConv2D returns a convolution with zero weights (see InitParams). It
// panics when a size is not positive.
func NewConv2D(name string, kh, kw, cin, cout int, opt ConvOptions) *Conv2D {
	if kh <= 0 || kw <= 0 || cin <= 0 || cout <= 0 {
		panic(fmt.Sprintf("nn.NewConv2D %q: sizes must be positive, got kernel %dx%d, %d->%d channels", name, kh, kw, cin, cout))
	}
	if !validAlgorithm(opt.Algorithm) {
		panic(fmt.Sprintf("nn.NewConv2D %q: unknown Algorithm %q (want auto, direct or winograd)", name, opt.Algorithm))
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

// pointwise reports whether the convolution is a plain GEMM on the input
// (1x1 kernel, stride 1, no padding): then A is x itself, (N·H·W, cin).
func (c *Conv2D) pointwise(gh, gw axisGeom) bool {
	return c.kh == 1 && c.kw == 1 && gh.stride == 1 && gw.stride == 1 &&
		gh.padBegin == 0 && gh.padEnd == 0 && gw.padBegin == 0 && gw.padEnd == 0
}

// patchesOf returns the im2col description of x (forward and dKernel).
func (c *Conv2D) patchesOf(x []float32, H, W int, gh, gw axisGeom) *patches {
	return &patches{src: x, H: H, W: W, C: c.cin, OH: gh.out, OW: gw.out, kh: c.kh, kw: c.kw,
		sh: gh.stride, sw: gw.stride, dh: gh.dilation, dw: gw.dilation, pt: gh.padBegin, pl: gw.padBegin}
}

// transposedOK reports whether dx can be computed as a stride-1 convolution
// of dz with the flipped kernel: stride 1 and pads no larger than span−1.
func transposedOK(g axisGeom) bool {
	return g.stride == 1 && g.padBegin <= g.span()-1 && g.padEnd <= g.span()-1
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
	y, _ := c.output(N, gh.out, gw.out, c.cout) // fully overwritten below
	maskOK := false
	w := c.Kernel.Value.Data
	var bias []float32
	if c.Bias != nil {
		bias = c.Bias.Value.Data
	}
	if v, ok := c.winogradVariant(N, gh, gw); ok {
		// 3x3, stride 1, pad 1: Winograd, bias and ReLU fused in its output transform.
		c.plan(v).Forward(x.Data, N, H, W, bias, c.opt.ReLU, y.Data)
	} else if c.pointwise(gh, gw) {
		// 1x1, stride 1, unpadded: A is x itself, (N·H·W, cin); no patch gathering.
		kernels.Sgemm(false, false, M, c.cout, K, 1, x.Data, K, w, c.cout, 0, y.Data, c.cout)
		biasReLU(y.Data, bias, c.cout, c.opt.ReLU)
	} else if c.stackedPays(gw) {
		// Thin input (short K): patch rows made contiguous in a stacked copy
		// of x, band by band, and read in place by the micro-kernel (see
		// conv_stacked.go and conv_stacked_band.go).
		// With a fused ReLU it also records y > 0 as bits while each band
		// is in L2, so that the backward reads 1 bit instead of y.
		var mask []uint16
		if c.opt.ReLU && c.cout%16 == 0 && c.retain(training) {
			if n := M * c.cout / 16; cap(c.mask) < n {
				c.mask = make([]uint16, n)
			}
			mask = c.mask[:M*c.cout/16]
		}
		c.stackedForward(x.Data, y.Data, N, H, W, gh, gw, bias, mask)
		maskOK = mask != nil
	} else {
		// Implicit GEMM: patches are written straight into the GEMM's packing
		// buffer; bias and ReLU are applied by the micro-kernel.
		c.fwd = *c.patchesOf(x.Data, H, W, gh, gw)
		if c.fwd.segmentsPay() {
			kernels.SgemmSegmentsBiasReLU(M, c.cout, K, &c.fwd, w, c.cout, bias, c.opt.ReLU, y.Data, c.cout, nil)
		} else {
			if c.fwdRows == nil {
				c.fwdRows = c.fwd.rows // bound once to &c.fwd: no allocation per call
			}
			kernels.SgemmRowsBiasReLU(M, c.cout, K, c.fwdRows, w, c.cout, bias, c.opt.ReLU, y.Data, c.cout)
		}
		c.fwd.src = nil
	}
	c.x, c.y, c.xShape, c.maskOK = nil, nil, nil, maskOK
	if c.retain(training) {
		c.shape = append(c.shape[:0], x.Shape...)
		c.xShape, c.gh, c.gw = c.shape, gh, gw
		if c.trainable {
			c.x = x
		}
		if c.opt.ReLU {
			c.y = y
		}
	}
	return y
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

// Backward takes dy (N, OH, OW, cout) and, with dz = dy ⊙ [y > 0] when ReLU is fused:
//
//	dBias[m]  = Σ_r dz[r, m]
//	dKernel   = Aᵀ · dz        (K × cout): GEMMs over bounded tiles of patch rows, accumulated
//	dx        = col2im(dz · kernelᵀ)
//
// For stride 1 (all of VGG) dx is instead the transposed implicit GEMM
//
//	dx[n,ih,iw,c] = Σ_{i,j,m} dz[n, ih + pt − i·dh, iw + pl − j·dw, m] · kernel[i,j,c,m]
//
// i.e. a stride-1 convolution of dz with the kernel flipped in (i, j) and
// transposed in (c, m), padded by span−1−pad: no scatter, packing fused.
// dKernel/dBias only when trainable; dx only when the plan asks for it.
func (c *Conv2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if c.xShape == nil {
		panic(fmt.Sprintf("nn: layer %q: Backward without a training Forward", c.name))
	}
	gh, gw := c.gh, c.gw
	N, H, W := c.xShape[0], c.xShape[1], c.xShape[2]
	M, cout := N*gh.out*gw.out, c.cout
	if len(dy.Data) != M*cout {
		panic(fmt.Sprintf("nn: layer %q: dy %v does not match output (%d, %d, %d, %d)", c.name, dy.Shape, N, gh.out, gw.out, cout))
	}
	if c.trainable && c.x == nil {
		panic(fmt.Sprintf("nn: layer %q: trainable but its input was not kept (Forward ran with training=false or keep=false)", c.name))
	}
	wantW := c.trainable
	if !wantW && !c.inputGrad {
		return nil
	}
	if c.stackedPays(gw) && c.thinGradPays(gh, gw) {
		var db []float32
		if wantW && c.Bias != nil {
			db = gradFor(c.Bias).Data
		}
		return c.thinBackward(dy.Data, db, wantW, N, H, W, gh, gw)
	}
	dz := dy.Data
	if c.opt.ReLU {
		c.dz = ensure(c.dz, M*cout)
		dz = c.dz
	}
	var db []float32
	if wantW && c.Bias != nil {
		db = gradFor(c.Bias).Data
	}
	c.maskAndBiasGrad(dz, dy.Data, db, M)
	if wantW {
		c.kernelGrad(dz, H, W, gh, gw)
	}
	if !c.inputGrad {
		return nil
	}
	return c.inputGradient(dz, N, H, W, gh, gw)
}

// Path thresholds, variables so that tests can force every path:
//
//   - transposedMinPatch is the smallest patch matrix (M·K floats) for which
//     stride-1 dx uses the transposed implicit GEMM rather than col2im (see
//     inputGradient; tall ones, M ≥ 2·K, use it whatever their size);
//   - segmentsMinOW and segmentsMinWidth are the smallest output width and
//     kernel-row width (kw·C floats) for which the implicit GEMMs read
//     patches in place as kernels.Segments (see patches.segmentsPay).
//   - transposedGradMinK is the smallest K for which dKernel is computed
//     transposed (see kernelGrad).
var (
	transposedGradMinK = 64
	transposedMinPatch = 4 << 20
	segmentsMinOW      = 96
	segmentsMinWidth   = 64
)

// maskAndBiasGrad sets dz = dy ⊙ [y > 0] when ReLU is fused (dz is then
// c.dz; without ReLU dz is dy itself) and, when db is not nil,
// db[m] = Σ_r dz[r, m], in one pass over row blocks split across the cores
// (both are memory-bound sweeps over M·cout floats; serial they were ~10%
// of block1_conv2's backward). Each core sums its rows into its own partial
// sums, added in core order, so the result does not depend on timing.
func (c *Conv2D) maskAndBiasGrad(dz, dy, db []float32, M int) {
	cout := c.cout
	if !c.opt.ReLU && db == nil {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	c.dbPart = ensure(c.dbPart, workers*cout)
	clear(c.dbPart)
	j := &c.mb
	j.c, j.dz, j.dy, j.db = c, dz, dy, db
	if M*cout < 1<<16 {
		j.runRange(0, 0, M) // small: not worth waking the other cores
	} else {
		parallelRange(M, j, &j.wg)
	}
	j.c, j.dz, j.dy, j.db = nil, nil, nil, nil
	if db != nil {
		copy(db, c.dbPart[:cout])
		for w := 1; w < workers; w++ {
			kernels.Axpy(1, c.dbPart[w*cout:w*cout+cout], db)
		}
	}
}

// maskBiasJob is one maskAndBiasGrad call, shared by the cores.
type maskBiasJob struct {
	c          *Conv2D
	dz, dy, db []float32
	wg         sync.WaitGroup
}

// runRange masks rows [lo, hi) and adds them to the worker's partial dBias.
func (j *maskBiasJob) runRange(worker, lo, hi int) {
	c, cout := j.c, j.c.cout
	if c.opt.ReLU {
		kernels.ReluBackward(j.dz[lo*cout:hi*cout], j.dy[lo*cout:hi*cout], c.y.Data[lo*cout:hi*cout])
	}
	if j.db != nil {
		part := c.dbPart[worker*cout : worker*cout+cout]
		for r := lo; r < hi; r++ {
			kernels.Axpy(1, j.dz[r*cout:r*cout+cout], part)
		}
	}
}

// kernelGradJob is one transposed kernelGrad call, shared by the cores: a
// core given pixels [lo, hi) writes their dKernelᵀ sum to c.dwT[worker].
type kernelGradJob struct {
	c   *Conv2D
	src *patches
	dz  []float32
	K   int
	wg  sync.WaitGroup
}

// gradShare is the patch-row source of one core's pixels, starting at r0.
type gradShare struct {
	g  patches
	r0 int
	fn kernels.RowSource
}

func (s *gradShare) rows(dst []float32, r, p0, kc int) { s.g.rows(dst, s.r0+r, p0, kc) }

func (j *kernelGradJob) runRange(worker, lo, hi int) {
	c, cout, K := j.c, j.c.cout, j.K
	sh := &c.gradShares[worker]
	sh.g, sh.r0 = *j.src, lo
	kernels.SgemmTransARowsSerial(cout, K, hi-lo, 1, j.dz[lo*cout:], cout, sh.fn, 0, c.dwT[worker*cout*K:(worker+1)*cout*K], K)
	sh.g.src = nil
}

// tileRows is how many patch rows fit the ~4 MB backward tile.
func tileRows(M, K int) int { return min(M, max(64, (1<<20)/K)) }

// kernelGrad sets dKernel = Aᵀ·dz, (K × M)·(M × cout), tile by tile.
func (c *Conv2D) kernelGrad(dz []float32, H, W int, gh, gw axisGeom) {
	N := c.xShape[0]
	M, K, cout := N*gh.out*gw.out, c.kh*c.kw*c.cin, c.cout
	dw := gradFor(c.Kernel).Data
	if c.pointwise(gh, gw) { // A is x
		kernels.Sgemm(true, false, K, cout, M, 1, c.x.Data, K, dz, cout, 0, dw, cout)
		return
	}
	if c.stackedPays(gw) {
		c.stackInput(c.x.Data, N, H, W, gh, gw)
		c.stackedKernelGrad(dz, dw, M)
		return
	}
	src := c.patchesOf(c.x.Data, H, W, gh, gw)
	if M >= 4*K && c.toeplitzOK(H, W, gh, gw) {
		// Stride 1, undilated, 'same' output and C a multiple of 16: the
		// patches are read in place from x (conv_toeplitz.go), dKernel =
		// patchesᵀ·dz with nothing packed. Backward, direct path, batch 1,
		// 3 alternating rounds: block1_conv2 27.2–29.3 -> 21.4–24.2 ms,
		// block2_conv1 12.3–12.7 -> 10.4–11.8, block2_conv2 22.9–24.8 ->
		// 21.4–22.9; default path, batch 16: block3_conv2 248–275 ->
		// 226–246 ms.
		c.toeplitzKernelGrad(src, dz, dw, M, K)
		return
	}
	if M >= 4*K && K >= transposedGradMinK {
		// Many pixels per patch column (early VGG blocks): dKernelᵀ = dzᵀ·A,
		// (cout × M)·(M × K), with the patch rows packed straight into the
		// GEMM's B panels (L2) instead of a 4 MB tile that the transposed-A
		// packing then reads again. Measured (cpu-ms, loaded host, same run):
		// 224x224 64->64 42.8 -> 35.2, 112x112 128->128 30.4 -> 29.2,
		// 112x112 64->128 15.8 -> 14.4; 56x56 128->256 (M = 2.7 K) equal,
		// 14x14 512->512 6.2 -> 9.3, hence the M ≥ 4·K rule. Thin patches
		// (K = 27 for RGB input) would make every tile of dKernelᵀ a
		// partial edge tile: 224x224 3->64 backward 16.3 -> 18.8.
		//
		// The reduction over the pixels is split across the cores, each
		// summing its share of the pixels into its own dKernelᵀ (added in
		// core order below, so the result does not depend on timing): each
		// core packs only its own rows of dzᵀ, where splitting the columns
		// of dKernelᵀ had every core pack all of dzᵀ. block1_conv2 backward
		// 38.4/39.2 -> 35.5/36.2 ms (quiet host, alternating runs);
		// block2_conv2 unchanged.
		parts := rangeParts(M)
		c.dwT = ensure(c.dwT, parts*cout*K)
		if len(c.gradShares) < parts {
			c.gradShares = make([]gradShare, parts)
			for q := range c.gradShares {
				c.gradShares[q].fn = c.gradShares[q].rows // bound once: no allocation per call
			}
		}
		j := &c.kg
		j.c, j.src, j.dz, j.K = c, src, dz, K
		parallelRange(M, j, &j.wg)
		j.c, j.src, j.dz = nil, nil, nil
		for p := 0; p < K; p++ {
			row := dw[p*cout : p*cout+cout]
			for m := range row {
				v := c.dwT[m*K+p]
				for q := 1; q < parts; q++ {
					v += c.dwT[q*cout*K+m*K+p]
				}
				row[m] = v
			}
		}
		return
	}
	T := tileRows(M, K)
	c.tile = ensure(c.tile, T*K)
	for r0 := 0; r0 < M; r0 += T {
		tr := min(T, M-r0)
		tile := c.tile[:tr*K]
		src.fillTile(tile, r0, tr)
		beta := float32(1)
		if r0 == 0 {
			beta = 0
		}
		kernels.Sgemm(true, false, K, cout, tr, 1, tile, K, dz[r0*cout:(r0+tr)*cout], cout, beta, dw, cout)
	}
}

// inputGradient returns dx (N, H, W, cin) for dz (M × cout).
func (c *Conv2D) inputGradient(dz []float32, N, H, W int, gh, gw axisGeom) *tensor.Tensor {
	M, K, cin, cout := N*gh.out*gw.out, c.kh*c.kw*c.cin, c.cin, c.cout
	w := c.Kernel.Value.Data
	dx, zeroed := c.gradInput(c.xShape)
	if c.pointwise(gh, gw) { // dx = dz·Wᵀ: (M × cout)·(cout × cin)
		kernels.Sgemm(false, true, M, K, cout, 1, dz, cout, w, cout, 0, dx.Data, K)
		return dx
	}
	if v, ok := c.winogradVariant(N, gh, gw); ok {
		// dx is the 'same' 3x3 convolution of dz with the flipped, transposed kernel.
		c.plan(v).BackwardData(dz, N, H, W, dx.Data)
		return dx
	}
	// The transposed GEMM has n = cin columns; below ~16 the micro-kernel's
	// 32-wide tiles would be mostly idle, so thin inputs (RGB) use col2im.
	// It also needs the flipped, transposed kernel rebuilt on every call
	// (K·cout floats, memory-bound): when the patch matrix is small (few
	// pixels, many channels) that rebuild costs as much as the GEMM, and the
	// col2im path, whose GEMM packs the kernel transposed straight into its
	// L2 panels, wins. Measured (cpu-ms for dx, loaded host, same run):
	// 14x14x512 (M·K = 0.9 Mi) 12.5 -> 6.2; 28x28x512 (3.6 Mi) 27.6 -> 24.6;
	// 56x56x256 (7.2 Mi) 20.4 -> 26.2, hence the 4 Mi bound. Tall patch
	// matrices (M ≥ 2·K: each core's share of dz rows outweighs the
	// flipped kernel, the GEMM's B, which every core packs whole) also take
	// it: block3_conv1 (56x56, 128->256, 3.6 Mi) backward 198-209 -> 230-240
	// GFLOP/s (sgemm 300-317; quiet host, same process, alternating), where
	// block4_conv1/2 (M = 784 < K) lost 4-8% CPU with it.
	if transposedOK(gh) && transposedOK(gw) && cin >= 16 && (M*K > transposedMinPatch || M >= 2*K) {
		// Flipped, transposed kernel wt[(i'·kw + j')·cout + m, c] = w[((kh−1−i')·kw + kw−1−j')·cin + c, m].
		c.wt = ensure(c.wt, c.kh*c.kw*cout*cin)
		flipTransposeKernel(c.wt, w, c.kh*c.kw, cin, cout)
		g := &patches{src: dz, H: gh.out, W: gw.out, C: cout, OH: H, OW: W, kh: c.kh, kw: c.kw,
			sh: 1, sw: 1, dh: gh.dilation, dw: gw.dilation, pt: gh.span() - 1 - gh.padBegin, pl: gw.span() - 1 - gw.padBegin}
		if g.segmentsPay() {
			kernels.SgemmSegmentsBiasReLU(N*H*W, cin, c.kh*c.kw*cout, g, c.wt, cin, nil, false, dx.Data, cin, nil)
		} else {
			kernels.SgemmRows(N*H*W, cin, c.kh*c.kw*cout, 1, g.rows, c.wt, cin, 0, dx.Data, cin)
		}
		return dx
	}
	// General stride: dPatches = dz·Wᵀ per tile, then col2im (which accumulates).
	if !zeroed {
		dx.Zero()
	}
	if c.thinGradPays(gh, gw) { // the same, gathered by rows of dx
		c.thinInputGradient(dz, dx.Data, N, H, W, gh, gw)
		return dx
	}
	src := c.patchesOf(nil, H, W, gh, gw)
	T := tileRows(M, K)
	c.tile = ensure(c.tile, T*K)
	for r0 := 0; r0 < M; r0 += T {
		tr := min(T, M-r0)
		tile := c.tile[:tr*K]
		kernels.Sgemm(false, true, tr, K, cout, 1, dz[r0*cout:(r0+tr)*cout], cout, w, cout, 0, tile, K)
		src.col2imAdd(dx.Data, tile, r0, tr)
	}
	return dx
}

// flipTransposeKernel writes the flipped, transposed kernel for the dx GEMM:
// for each of taps taps t (row-major over (i, j), so the flipped tap is
// taps−1−t), the cin×cout block w[t] is stored transposed (cout×cin) at
// wt[taps−1−t]. The transposes go in 16×16 blocks (both sides touch whole
// cache lines) split over the cores by blocks of cin; a plain element loop
// writes with a stride of cin floats and was 3–4 ms of block5's 12 ms
// backward.
func flipTransposeKernel(wt, w []float32, taps, cin, cout int) {
	const bs = 16
	_ = wt[taps*cin*cout-1]
	_ = w[taps*cin*cout-1]
	cBlocks := (cin + bs - 1) / bs
	parallelFor(taps*cBlocks, func(lo, hi int) {
		for q := lo; q < hi; q++ {
			t, c0 := q/cBlocks, q%cBlocks*bs
			c1 := min(c0+bs, cin)
			src := w[t*cin*cout : (t+1)*cin*cout]
			dst := wt[(taps-1-t)*cout*cin : (taps-t)*cout*cin]
			for m0 := 0; m0 < cout; m0 += bs {
				m1 := min(m0+bs, cout)
				for ch := c0; ch < c1; ch++ {
					row := src[ch*cout+m0 : ch*cout+m1]
					for k, v := range row {
						dst[(m0+k)*cin+ch] = v
					}
				}
			}
		}
	})
}
