package nn

import (
	"runtime"
	"sync"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// implicitConv is the implicit GEMM: y = A·kernel with the patch rows of A
// produced on demand into the GEMM's packing buffers (a kernels.RowSource)
// or, for wide output rows, read in place as kernels.Segments; bias and
// ReLU are applied by the micro-kernel. It handles every geometry.
type implicitConv struct {
	fwd  patches           // im2col description of the running forward
	rows kernels.RowSource // fwd.rows, bound once: no allocation per call
	gemmBackward
}

func (a *implicitConv) forward(c *Conv2D, g *convGeom, x, y []float32, _ bool) bool {
	a.fwd = *c.patchesOf(x, g)
	w, bias := c.Kernel.Value.Data, c.bias()
	if a.fwd.segmentsPay(&c.tune) {
		kernels.SgemmSegmentsBiasReLU(g.M, c.cout, g.K, &a.fwd, w, c.cout, bias, c.opt.ReLU, y, c.cout, nil)
	} else {
		if a.rows == nil {
			a.rows = a.fwd.rows
		}
		kernels.SgemmRowsBiasReLU(g.M, c.cout, g.K, a.rows, w, c.cout, bias, c.opt.ReLU, y, c.cout)
	}
	a.fwd.src = nil
	return false
}

func (a *implicitConv) backward(c *Conv2D, g *convGeom, dy []float32, wantW bool) *tensor.Tensor {
	dz := a.weightGrads(c, g, dy, wantW)
	if !c.inputGrad {
		return nil
	}
	return a.inputGradient(c, g, dz, c.plan.dx)
}

// pointwiseConv is the 1x1, stride-1, unpadded convolution: A is x itself,
// (N·H·W, cin), so every pass is one plain GEMM.
type pointwiseConv struct{ gemmBackward }

func (a *pointwiseConv) forward(c *Conv2D, g *convGeom, x, y []float32, _ bool) bool {
	kernels.Sgemm(false, false, g.M, c.cout, g.K, 1, x, g.K, c.Kernel.Value.Data, c.cout, 0, y, c.cout)
	biasReLU(y, c.bias(), c.cout, c.opt.ReLU)
	return false
}

func (a *pointwiseConv) backward(c *Conv2D, g *convGeom, dy []float32, wantW bool) *tensor.Tensor {
	M, K, cout := g.M, g.K, c.cout
	dz := a.maskAndBiasGrad(c, g, dy, c.biasGrad(wantW))
	if wantW { // dKernel = xᵀ·dz
		kernels.Sgemm(true, false, K, cout, M, 1, c.x.Data, K, dz, cout, 0, gradFor(c.Kernel).Data, cout)
	}
	if !c.inputGrad {
		return nil
	}
	dx, _ := c.gradInput(c.xShape) // dx = dz·kernelᵀ: (M × cout)·(cout × cin)
	kernels.Sgemm(false, true, M, K, cout, 1, dz, cout, c.Kernel.Value.Data, cout, 0, dx.Data, K)
	return dx
}

// gemmBackward is the split backward shared by the GEMM algorithms: one
// sweep for dz = dy ⊙ [y > 0] and dBias, then the dKernel step and the dx
// step that the plan names (conv_algorithms.go), each with its scratch.
type gemmBackward struct {
	dz     []float32   // dy masked by ReLU
	dbPart []float32   // per-core partial bias gradients (GOMAXPROCS × cout)
	mb     maskBiasJob // the running maskAndBiasGrad call
	tile   []float32   // dKernel tile (dkTiles) or dP tile (dxCol2im, dxThinGather)
	trans  transposedGrad
	toe    toeplitzGrad
	wt     []float32 // flipped, transposed kernel (dxTransposed)
	thin   thinGatherDx
}

// weightGrads is the split backward's first two steps: dz and dBias, then
// (when wantW) dKernel by the plan's step. It returns dz for the dx step.
func (b *gemmBackward) weightGrads(c *Conv2D, g *convGeom, dy []float32, wantW bool) []float32 {
	dz := b.maskAndBiasGrad(c, g, dy, c.biasGrad(wantW))
	if wantW {
		b.kernelGrad(c, g, dz, c.plan.dk)
	}
	return dz
}

// maskAndBiasGrad returns dz = dy ⊙ [y > 0] when ReLU is fused (dy itself
// otherwise) and, when db is not nil, sets db[m] = Σ_r dz[r, m], in one
// pass over row blocks split across the cores (both are memory-bound
// sweeps over M·cout floats). Each core sums its rows into its own partial
// sums, added in core order, so the result does not depend on timing.
func (b *gemmBackward) maskAndBiasGrad(c *Conv2D, g *convGeom, dy, db []float32) []float32 {
	M, cout := g.M, c.cout
	dz := dy
	if c.opt.ReLU {
		b.dz = ensure(b.dz, M*cout)
		dz = b.dz
	}
	if !c.opt.ReLU && db == nil {
		return dz
	}
	workers := runtime.GOMAXPROCS(0)
	b.dbPart = ensure(b.dbPart, workers*cout)
	clear(b.dbPart)
	j := &b.mb
	j.b, j.dz, j.dy, j.db, j.cout = b, dz, dy, db, cout
	if c.opt.ReLU {
		j.y = c.y.Data
	}
	if M*cout < c.tune.parallelMinFloats {
		j.runRange(0, 0, M)
	} else {
		parallelRange(M, j, &j.wg)
	}
	j.b, j.dz, j.dy, j.db, j.y = nil, nil, nil, nil, nil
	if db != nil {
		copy(db, b.dbPart[:cout])
		for w := 1; w < workers; w++ {
			kernels.Axpy(1, b.dbPart[w*cout:w*cout+cout], db)
		}
	}
	return dz
}

// maskBiasJob is one maskAndBiasGrad call, shared by the cores.
type maskBiasJob struct {
	b             *gemmBackward
	dz, dy, db, y []float32 // y nil without ReLU
	cout          int
	wg            sync.WaitGroup
}

// runRange masks rows [lo, hi) and adds them to the worker's partial dBias.
func (j *maskBiasJob) runRange(worker, lo, hi int) {
	cout := j.cout
	if j.y != nil {
		kernels.ReluBackward(j.dz[lo*cout:hi*cout], j.dy[lo*cout:hi*cout], j.y[lo*cout:hi*cout])
	}
	if j.db != nil {
		part := j.b.dbPart[worker*cout : worker*cout+cout]
		for r := lo; r < hi; r++ {
			kernels.Axpy(1, j.dz[r*cout:r*cout+cout], part)
		}
	}
}

// kernelGrad sets dKernel = Aᵀ·dz, (K × M)·(M × cout), by step.
func (b *gemmBackward) kernelGrad(c *Conv2D, g *convGeom, dz []float32, step kernelGradStep) {
	M, K, cout := g.M, g.K, c.cout
	dw := gradFor(c.Kernel).Data
	src := c.patchesOf(c.x.Data, g)
	switch step {
	case dkToeplitz:
		b.toe.kernelGrad(c, src, dz, dw, M, K)
	case dkTransposed:
		b.trans.kernelGrad(src, dz, dw, M, K, cout)
	default: // dkTiles
		T := tileRows(M, K)
		b.tile = ensure(b.tile, T*K)
		for r0 := 0; r0 < M; r0 += T {
			tr := min(T, M-r0)
			tile := b.tile[:tr*K]
			src.fillTile(tile, r0, tr)
			beta := float32(1)
			if r0 == 0 {
				beta = 0
			}
			kernels.Sgemm(true, false, K, cout, tr, 1, tile, K, dz[r0*cout:(r0+tr)*cout], cout, beta, dw, cout)
		}
	}
}

// tileRows is how many patch rows fit the ~4 MB backward tile.
func tileRows(M, K int) int { return min(M, max(64, (1<<20)/K)) }

// transposedGrad computes dKernelᵀ = dzᵀ·A, (cout × M)·(M × K), with the
// patch rows packed straight into the GEMM's B panels (L2) instead of a
// tile that the transposed-A packing would read again. The reduction over
// the pixels is split across the cores, each summing its share into its
// own dKernelᵀ and packing only its own rows of dzᵀ; the partial sums are
// added in core order, so the result does not depend on timing.
type transposedGrad struct {
	dwT    []float32   // per-core dKernelᵀ (cout × K)
	shares []gradShare // per-core patch-row sources
	job    kernelGradJob
}

// kernelGradJob is one transposed kernelGrad call, shared by the cores: a
// core given pixels [lo, hi) writes their dKernelᵀ sum to dwT[worker].
type kernelGradJob struct {
	t       *transposedGrad
	src     *patches
	dz      []float32
	K, cout int
	wg      sync.WaitGroup
}

// gradShare is the patch-row source of one core's pixels, starting at r0.
type gradShare struct {
	g  patches
	r0 int
	fn kernels.RowSource
}

func (s *gradShare) rows(dst []float32, r, p0, kc int) { s.g.rows(dst, s.r0+r, p0, kc) }

func (j *kernelGradJob) runRange(worker, lo, hi int) {
	cout, K := j.cout, j.K
	sh := &j.t.shares[worker]
	sh.g, sh.r0 = *j.src, lo
	kernels.SgemmTransARowsSerial(cout, K, hi-lo, 1, j.dz[lo*cout:], cout, sh.fn, 0, j.t.dwT[worker*cout*K:(worker+1)*cout*K], K)
	sh.g.src = nil
}

// kernelGrad sets dw (K × cout) from the patches of src and dz (M × cout).
func (t *transposedGrad) kernelGrad(src *patches, dz, dw []float32, M, K, cout int) {
	parts := rangeParts(M)
	t.dwT = ensure(t.dwT, parts*cout*K)
	if len(t.shares) < parts {
		t.shares = make([]gradShare, parts)
		for q := range t.shares {
			t.shares[q].fn = t.shares[q].rows // bound once: no allocation per call
		}
	}
	j := &t.job
	j.t, j.src, j.dz, j.K, j.cout = t, src, dz, K, cout
	parallelRange(M, j, &j.wg)
	j.t, j.src, j.dz = nil, nil, nil
	for p := 0; p < K; p++ {
		row := dw[p*cout : p*cout+cout]
		for m := range row {
			v := t.dwT[m*K+p]
			for q := 1; q < parts; q++ {
				v += t.dwT[q*cout*K+m*K+p]
			}
			row[m] = v
		}
	}
}

// inputGradient returns dx (N, H, W, cin) for dz (M × cout) by step.
func (b *gemmBackward) inputGradient(c *Conv2D, g *convGeom, dz []float32, step inputGradStep) *tensor.Tensor {
	N, H, W, M, K := g.N, g.H, g.W, g.M, g.K
	cin, cout := c.cin, c.cout
	w := c.Kernel.Value.Data
	dx, zeroed := c.gradInput(c.xShape)
	if step == dxTransposed {
		// For stride 1, dx is the stride-1 convolution of dz with the kernel
		// flipped in (i, j) and transposed in (c, m), padded by span−1−pad:
		//
		//	dx[n,ih,iw,c] = Σ_{i,j,m} dz[n, ih + pt − i·dh, iw + pl − j·dw, m] · kernel[i,j,c,m]
		//
		// an implicit GEMM with no scatter, packing fused.
		// wt[(i'·kw + j')·cout + m, c] = w[((kh−1−i')·kw + kw−1−j')·cin + c, m].
		b.wt = ensure(b.wt, c.kh*c.kw*cout*cin)
		flipTransposeKernel(b.wt, w, c.kh*c.kw, cin, cout)
		gh, gw := g.gh, g.gw
		p := &patches{src: dz, H: gh.out, W: gw.out, C: cout, OH: H, OW: W, kh: c.kh, kw: c.kw,
			sh: 1, sw: 1, dh: gh.dilation, dw: gw.dilation, pt: gh.span() - 1 - gh.padBegin, pl: gw.span() - 1 - gw.padBegin}
		if p.segmentsPay(&c.tune) {
			kernels.SgemmSegmentsBiasReLU(N*H*W, cin, c.kh*c.kw*cout, p, b.wt, cin, nil, false, dx.Data, cin, nil)
		} else {
			kernels.SgemmRows(N*H*W, cin, c.kh*c.kw*cout, 1, p.rows, b.wt, cin, 0, dx.Data, cin)
		}
		return dx
	}
	// dPatches = dz·kernelᵀ, then added into dx.
	if !zeroed {
		dx.Zero()
	}
	if step == dxThinGather { // gathered by rows of dx
		b.thin.inputGradient(c, g, dz, dx.Data)
		return dx
	}
	// dxCol2im: per tile, then scattered by col2im.
	src := c.patchesOf(nil, g)
	T := tileRows(M, K)
	b.tile = ensure(b.tile, T*K)
	for r0 := 0; r0 < M; r0 += T {
		tr := min(T, M-r0)
		tile := b.tile[:tr*K]
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
// writes with a stride of cin floats (BenchmarkConv2D/block5_conv2/bwd).
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
