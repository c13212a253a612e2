package nn

import (
	"sync"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// Thin inputs: convolutions whose patch rows are short (K = kh·kw·cin ≤
// convThresholds.thinMaxK, e.g. VGG's first layer on RGB, K = 3·3·3 = 27). Packing the
// patch matrix row by row then costs more than the GEMM (per row: a few
// divisions and kh copies of kw·cin floats, for only K·cout multiply-adds),
// and kw·cin is far too short for kernels.Segments views of the input
// itself (one micro-kernel call per kernel row, k = 9). Instead the input
// is re-laid out so that every patch row is contiguous (whole for the
// strided dKernel, per band of output rows by the forward pass and per
// chunk of pixels by the fused backward, see conv_stacked_band.go and
// conv_thin_backward.go):
//
//	xs[n, oh, q, i·C + c] = x[n, oh·sh − pt + i·dh, q − pl, c]   (0 outside the image)
//
// of shape (N·OH, WP, kh·C) with WP = (OW−1)·sw + kw: the kh input rows
// seen by output row oh are stacked channel-wise, padding included. For
// dw = 1, patch row (n, oh, ow) in (j, i, c) order is then the kw·kh·C
// floats at xs[n, oh, ow·sw, 0], and the patches of one output row are a
// strided, overlapping view of xs (sw·kh·C floats apart): the forward GEMM
// reads its A micro-panels in place, one k = K micro-kernel call per tile,
// as plain SGEMM on a materialised im2col matrix would, with kh·(WP/W)
// times the input as extra memory instead of K/C times. The kernel rows are
// permuted to the (j, i, c) order:
//
//	wp[(j·kh + i)·C + c, m] = kernel[i, j, c, m].
//
// stacked is a kernels.Segments of one segment (the whole row).
type stacked struct {
	xs            []float32 // (N·OH, WP, kh·C)
	x             []float32 // the input being stacked (only during fill)
	H, W, C       int
	OH, OW, WP    int
	kh, kw        int
	sh, sw, dh    int
	pt, pl        int
	wg            sync.WaitGroup
	tiles         [][]float32 // per-core dKernel patch tiles (stackedKernelGrad)
	zeros         []float32   // a zero image row (fillRow33's padding rows), read only
	dz, part      []float32   // the running stackedKernelGrad call: dz and per-core partial dKernel
	cout, r0, end int
}

// thinConv is the thin-input algorithm: the stacked forward in bands
// (conv_stacked_band.go) and the fused backward (conv_thin_backward.go), or
// for strides above 1 the split backward with dKernel from the stacked
// layout and dx by col2im.
type thinConv struct {
	stk    stacked      // the stacked layout
	fwd    stackedFwd   // the running banded forward
	wp     []float32    // kernel rows permuted to the stacked (j, i, c) order
	dwT    []float32    // per-core partial dKernels (stacked row order)
	fused  thinFused    // the running fused backward
	gather thinGatherDx // dx of the fused backward
	split  gemmBackward // strides above 1
}

func (t *thinConv) forward(c *Conv2D, g *convGeom, x, y []float32, keep bool) bool {
	// With a fused ReLU it also records y > 0 as bits while each band is
	// in L2, so that the backward reads 1 bit instead of y.
	var mask []uint16
	if c.opt.ReLU && c.cout%16 == 0 && keep {
		if n := g.M * c.cout / 16; cap(c.mask) < n {
			c.mask = make([]uint16, n)
		}
		mask = c.mask[:g.M*c.cout/16]
	}
	t.stackedForward(c, x, y, g, c.bias(), mask)
	return mask != nil
}

func (t *thinConv) backward(c *Conv2D, g *convGeom, dy []float32, wantW bool) *tensor.Tensor {
	db := c.biasGrad(wantW)
	if g.gh.stride == 1 && g.gw.stride == 1 {
		return t.fusedBackward(c, g, dy, db, wantW)
	}
	dz := t.split.maskAndBiasGrad(c, g, dy, db)
	if wantW {
		t.stackInput(c, c.x.Data, g)
		t.stackedKernelGrad(c, dz, gradFor(c.Kernel).Data, g.M)
	}
	if !c.inputGrad {
		return nil
	}
	return t.split.inputGradient(c, g, dz, dxCol2im)
}

// stackInput lays x (N, H, W, cin) out as t.stk.xs for geometry g and
// returns t.stk. The rows are filled in parallel.
func (t *thinConv) stackInput(c *Conv2D, x []float32, g *convGeom) *stacked {
	s := t.stackLayout(c, x, g)
	rows := g.N * s.OH
	s.xs = ensure(s.xs, rows*s.WP*s.kh*s.C)
	if len(s.xs) < c.tune.stackParallelMinFloats {
		s.runRange(0, 0, rows) // small: not worth waking the other cores
	} else {
		parallelRange(rows, stackFill{s}, &s.wg)
	}
	s.x = nil
	return s
}

// stackLayout sets t.stk's geometry for stacking x (·, H, W, cin) with g.
func (t *thinConv) stackLayout(c *Conv2D, x []float32, g *convGeom) *stacked {
	gh, gw, W := g.gh, g.gw, g.W
	s := &t.stk
	s.x, s.H, s.W, s.C = x, g.H, W, c.cin
	s.OH, s.OW, s.WP = gh.out, gw.out, (gw.out-1)*gw.stride+c.kw
	s.kh, s.kw = c.kh, c.kw
	s.sh, s.sw, s.dh = gh.stride, gw.stride, gh.dilation
	s.pt, s.pl = gh.padBegin, gw.padBegin
	if s.C == 3 && len(s.zeros) < 3*W {
		s.zeros = make([]float32, 3*W) // never written: stays zero
	}
	return s
}

// stackFill is the rangeBody that fills rows of xs.
type stackFill struct{ s *stacked }

func (f stackFill) runRange(worker, lo, hi int) { f.s.runRange(worker, lo, hi) }

// runRange fills rows [lo, hi) of xs, row q = n·OH + oh.
func (s *stacked) runRange(_, lo, hi int) {
	s.fillRows(s.xs[lo*s.WP*s.kh*s.C:], lo, hi)
}

// fillRows writes rows [lo, hi) of the stacked layout into dst, row q at
// dst[(q − lo)·WP·kh·C:].
func (s *stacked) fillRows(dst []float32, lo, hi int) {
	C, khC := s.C, s.kh*s.C
	for q := lo; q < hi; q++ {
		n, oh := q/s.OH, q%s.OH
		row := dst[(q-lo)*s.WP*khC : (q-lo+1)*s.WP*khC]
		// Columns q' with iw = q' − pl inside the image: [qa, qb).
		qa, qb := min(s.pl, s.WP), min(s.WP, s.W+s.pl)
		if C == 3 && s.kh == 3 && qb > qa {
			s.fillRow33(row, n, oh, qa, qb)
			continue
		}
		for i := range s.kh {
			ih := oh*s.sh - s.pt + i*s.dh
			if ih < 0 || ih >= s.H {
				for p := range s.WP {
					clear(row[p*khC+i*C : p*khC+i*C+C])
				}
				continue
			}
			for p := 0; p < qa; p++ {
				clear(row[p*khC+i*C : p*khC+i*C+C])
			}
			for p := qb; p < s.WP; p++ {
				clear(row[p*khC+i*C : p*khC+i*C+C])
			}
			src := s.x[((n*s.H+ih)*s.W+qa-s.pl)*C : ((n*s.H+ih)*s.W+qb-s.pl)*C]
			dst := row[qa*khC+i*C:]
			if C == 3 { // RGB: fixed-size moves instead of a copy call per pixel
				for p := 0; p < qb-qa; p++ {
					*(*[3]float32)(dst[p*khC:]) = *(*[3]float32)(src[p*3:])
				}
				continue
			}
			for p := 0; p < qb-qa; p++ {
				copy(dst[p*khC:p*khC+C], src[p*C:p*C+C])
			}
		}
	}
}

// fillRow33 is fillRows' row for C = 3, kh = 3 (VGG's first layer): one
// pass writing each column's 9 floats, [x[ih0, iw], x[ih1, iw], x[ih2, iw]],
// with input rows in the padding read from a zero row (no branch per
// column); a pass per kernel row strided through the row 3 times.
func (s *stacked) fillRow33(row []float32, n, oh, qa, qb int) {
	w := qb - qa
	var src [3][]float32
	for i := range 3 {
		ih := oh*s.sh - s.pt + i*s.dh
		if ih < 0 || ih >= s.H {
			src[i] = s.zeros[:3*w]
			continue
		}
		o := ((n*s.H+ih)*s.W + qa - s.pl) * 3
		src[i] = s.x[o : o+3*w]
	}
	clear(row[:qa*9])
	clear(row[qb*9:])
	d := row[qa*9 : qb*9]
	a, b, c := src[0], src[1], src[2]
	for p := range w {
		e := (*[9]float32)(d[p*9:])
		x, y, z := (*[3]float32)(a[p*3:]), (*[3]float32)(b[p*3:]), (*[3]float32)(c[p*3:])
		e[0], e[1], e[2] = x[0], x[1], x[2]
		e[3], e[4], e[5] = y[0], y[1], y[2]
		e[6], e[7], e[8] = z[0], z[1], z[2]
	}
}

// offset returns where patch row r = (n·OH + oh)·OW + ow starts in xs.
func (s *stacked) offset(r int) int {
	q, ow := r/s.OW, r%s.OW
	return (q*s.WP + ow*s.sw) * s.kh * s.C
}

// Rows writes patch row r, columns [p0, p0+kc) in (j, i, c) order (kernels.Segments).
func (s *stacked) Rows(dst []float32, r, p0, kc int) {
	o := s.offset(r) + p0
	copy(dst[:kc], s.xs[o:o+kc])
}

// SegmentWidth is K: the whole patch row is one segment.
func (s *stacked) SegmentWidth() int { return s.kh * s.kw * s.C }

// Segment returns patch rows [r0, r0+n) as a view of xs when they lie on
// one output row, else asks for them to be packed.
func (s *stacked) Segment(r0, n, _ int) ([]float32, int, int, kernels.SegmentKind) {
	if r0%s.OW+n > s.OW {
		return nil, 0, 0, kernels.SegmentPack
	}
	return s.xs, s.offset(r0), s.sw * s.kh * s.C, kernels.SegmentView
}

// permuteKernel writes w (rows in (i, j, c) order, cout wide) into wp with
// rows in (j, i, c) order, or back when toStacked is false.
func permuteKernel(wp, w []float32, kh, kw, cin, cout int, toStacked bool) {
	for i := range kh {
		for j := range kw {
			a := (i*kw + j) * cin * cout
			b := (j*kh + i) * cin * cout
			if toStacked {
				copy(wp[b:b+cin*cout], w[a:a+cin*cout])
			} else {
				copy(wp[a:a+cin*cout], w[b:b+cin*cout])
			}
		}
	}
}

// stackedKernelTile is the number of patch rows per core in one dKernel
// GEMM: a 27-wide tile of 2048 rows is 216 KiB (L2), its dz rows 512 KiB
// for cout = 64.
const stackedKernelTile = 2048

// stackedKernelGrad sets dKernel = Aᵀ·dz, (K × M)·(M × cout), with the
// patch rows taken from t.stk (already stacked from x): the pixels are
// split across the cores, each copying its patch rows, tile by tile, into
// an L2-sized K-wide tile (contiguous copies, no index arithmetic per tap)
// and accumulating tileᵀ·dz into its own partial dKernel (rows in (j, i, c)
// order), which are then summed in core order and permuted back.
func (t *thinConv) stackedKernelGrad(c *Conv2D, dz, dw []float32, M int) {
	s := &t.stk
	K, cout := c.kh*c.kw*c.cin, c.cout
	parts := rangeParts(M)
	t.dwT = ensure(t.dwT, parts*K*cout)
	if len(s.tiles) < parts {
		s.tiles = make([][]float32, parts)
	}
	s.dz, s.part, s.cout = dz, t.dwT, cout
	parallelRange(M, stackedGrad{s}, &s.wg)
	s.dz, s.part = nil, nil
	// Sum the partials (in core order) into part 0, then permute into dw.
	p0 := t.dwT[:K*cout]
	for q := 1; q < parts; q++ {
		kernels.Axpy(1, t.dwT[q*K*cout:(q+1)*K*cout], p0)
	}
	permuteKernel(dw, p0, c.kh, c.kw, c.cin, cout, false)
}

// copyRows copies patch rows [r0, r0+n) into tile (n × K, row stride ld), walking
// (output row, ow) incrementally: the patch rows of one output row are
// sw·kh·C floats apart in xs.
func (s *stacked) copyRows(tile []float32, ld, r0, n int) {
	s.copyRowsFrom(s.xs, 0, tile, ld, r0, n)
}

// copyRowsFrom is copyRows from xs holding the stacked rows from output row
// q0 on (xs[0] is the start of row q0).
func (s *stacked) copyRowsFrom(xs []float32, q0 int, tile []float32, ld, r0, n int) {
	K, step := s.kh*s.kw*s.C, s.sw*s.kh*s.C
	o, ow := s.offset(r0)-q0*s.WP*s.kh*s.C, r0%s.OW
	for t := range n {
		copy(tile[t*ld:t*ld+K], xs[o:o+K])
		if ow++; ow == s.OW {
			ow, o = 0, o+(s.WP-(s.OW-1)*s.sw)*s.kh*s.C
		} else {
			o += step
		}
	}
}

// stackedGrad is the rangeBody of stackedKernelGrad.
type stackedGrad struct{ s *stacked }

func (g stackedGrad) runRange(worker, lo, hi int) {
	s := g.s
	K, cout := s.kh*s.kw*s.C, s.cout
	T := min(stackedKernelTile, hi-lo)
	s.tiles[worker] = ensure(s.tiles[worker], T*K)
	tile := s.tiles[worker]
	part := s.part[worker*K*cout : (worker+1)*K*cout]
	for r0 := lo; r0 < hi; r0 += T {
		tr := min(T, hi-r0)
		s.copyRows(tile, K, r0, tr)
		beta := float32(1)
		if r0 == lo {
			beta = 0
		}
		kernels.SgemmSerial(true, false, K, cout, tr, 1, tile[:tr*K], K, s.dz[r0*cout:(r0+tr)*cout], cout, beta, part, cout)
	}
}

// inputGradient sets dx (N, H, W, cin), zeroed by the caller, for a
// stride-1 convolution with a short K. The patch gradients
//
//	dP = dz · kernelᵀ        (M × K), computed Kp = roundUp(K, 32) wide
//
// come from a plain GEMM whose B, kernelᵀ, is zero-padded to Kp columns, so
// that every micro-tile is full (K = 27 alone would make each one an edge
// tile merged through scratch), over tiles of whole output rows. Each tile
// is then gathered into dx:
//
//	dx[n, ih, iw, c] += dP[(n, oh, ow), (i·kw + j)·C + c],   oh = ih + pt − i·dh, ow = iw + pl − j·dw
//
// split over the cores by rows of dx, so no two cores write one pixel
// (col2im's scatter can only be split by channels: 3 for RGB).
func (d *thinGatherDx) inputGradient(c *Conv2D, cg *convGeom, dz, dx []float32) {
	K, cout := cg.K, c.cout
	Kp := (K + 31) / 32 * 32
	N, OH, OW := cg.N, cg.gh.out, cg.gw.out
	rowsPerTile := d.prepare(c, cg, dx, Kp, true)
	g := &d.gather
	for R0 := 0; R0 < N*OH; R0 += rowsPerTile {
		R1 := min(R0+rowsPerTile, N*OH)
		tr := (R1 - R0) * OW
		tile := d.tile[:tr*Kp]
		kernels.Sgemm(false, false, tr, Kp, cout, 1, dz[R0*OW*cout:R1*OW*cout], cout, d.wtp, Kp, 0, tile, Kp)
		Q0, Q1 := g.dxRows(R0, R1)
		g.tile, g.R0, g.R1, g.Q0 = tile, R0, R1, Q0
		if Q1 > Q0 {
			parallelRange(Q1-Q0, g, &g.wg)
		}
	}
	g.dx, g.tile = nil, nil
}

// thinGather is one dP tile being gathered into dx.
type thinGather struct {
	dx, tile        []float32 // tile: dP of output rows [R0, R1), Kp wide
	R0, R1, Q0      int       // output rows of the tile; first dx row (n·H + ih) of the range
	H, W, C, OH, OW int
	Kp, kh, kw      int
	dh, dw, pt, pl  int
	wg              sync.WaitGroup
}

// runRange adds the tile's taps into dx rows Q0+lo … Q0+hi−1.
func (g *thinGather) runRange(_, lo, hi int) {
	for Q := g.Q0 + lo; Q < g.Q0+hi; Q++ {
		g.addRow(g.dx[Q*g.W*g.C:(Q+1)*g.W*g.C], Q, g.tile, g.R0, g.R1)
	}
}

// dxRows returns the dx rows [Q0, Q1) (Q = n·H + ih) that output rows
// [R0, R1) (R = n·OH + oh) reach: from the first one's top tap to the last
// one's bottom tap.
func (g *thinGather) dxRows(R0, R1 int) (Q0, Q1 int) {
	n0, oh0 := R0/g.OH, R0%g.OH
	n1, oh1 := (R1-1)/g.OH, (R1-1)%g.OH
	Q0 = n0*g.H + min(max(oh0-g.pt, 0), g.H)
	Q1 = n1*g.H + min(max(oh1-g.pt+(g.kh-1)*g.dh+1, 0), g.H)
	return Q0, max(Q0, Q1)
}

// outRows returns the output rows [a, b) (R = n·OH + oh) whose taps can
// reach dx row Q (every dh-th of them does); a == b when none does.
func (g *thinGather) outRows(Q int) (a, b int) {
	n, ih := Q/g.H, Q%g.H
	lo, hi := max(ih+g.pt-(g.kh-1)*g.dh, 0), min(ih+g.pt, g.OH-1)+1
	if lo >= hi {
		return 0, 0
	}
	return n*g.OH + lo, n*g.OH + hi
}

// addRow adds into dst (dx row Q, W·C floats) the taps that the output
// rows [R0, R1) send it, from tile (their dP, Kp wide, row R0 first).
func (g *thinGather) addRow(dst []float32, Q int, tile []float32, R0, R1 int) {
	C, Kp := g.C, g.Kp
	n, ih := Q/g.H, Q%g.H
	if C == 3 && g.kw == 3 && g.dw == 1 && Kp == 32 && g.kh <= 3 {
		// VGG's first layer: all kernel rows in one pass over the dx row.
		var tbs [3][]float32
		for i := range g.kh {
			oh := ih + g.pt - i*g.dh
			if R := n*g.OH + oh; oh >= 0 && oh < g.OH && R >= R0 && R < R1 {
				tbs[i] = tile[(R-R0)*g.OW*Kp : (R-R0+1)*g.OW*Kp]
			}
		}
		g.addRows3x3(dst, &tbs)
		return
	}
	for i := range g.kh {
		oh := ih + g.pt - i*g.dh
		R := n*g.OH + oh
		if oh < 0 || oh >= g.OH || R < R0 || R >= R1 {
			continue
		}
		tb := tile[(R-R0)*g.OW*Kp : (R-R0+1)*g.OW*Kp]
		if C == 3 {
			g.addRow3(dst, tb, i)
			continue
		}
		for j := range g.kw {
			// iw with ow = iw + pl − j·dw in [0, OW): [shift, OW+shift) ∩ [0, W).
			shift := j*g.dw - g.pl
			a, b := max(0, shift), min(g.W, g.OW+shift)
			if a >= b {
				continue
			}
			src := tb[(a-shift)*Kp+(i*g.kw+j)*C:]
			d := dst[a*C : b*C]
			for p := 0; p < b-a; p++ {
				dd, ss := d[p*C:p*C+C], src[p*Kp:p*Kp+C]
				for k := range dd {
					dd[k] += ss[k]
				}
			}
		}
	}
}

// addRows3x3 is addRow3 for kw = 3, dw = 1, Kp = 32 and up to three kernel
// rows at once (tbs[i]: the dP of the output row that kernel row i sends
// to this dx row, nil when none does): each dx pixel is loaded and stored
// once, and its 27 taps are read through one fixed-size window of the dP
// row (constant indexes, no bounds checks):
//
//	dx[iw, c] += Σ_i Σ_j tbs[i][(iw + pl − j)·32 + (3i + j)·3 + c]
func (g *thinGather) addRows3x3(dst []float32, tbs *[3][]float32) {
	pl, OW := g.pl, g.OW
	a, b := max(0, 2-pl), max(min(g.W, OW-pl), 0) // interior: every ow = iw + pl − j in [0, OW)
	a = min(a, b)
	for i, tb := range tbs {
		if tb == nil {
			continue
		}
		for iw := range a { // left edge
			g.addPixel3(dst, tb, i, iw)
		}
		for iw := b; iw < g.W; iw++ { // right edge
			g.addPixel3(dst, tb, i, iw)
		}
	}
	t0, t1, t2 := tbs[0], tbs[1], tbs[2]
	for iw := a; iw < b; iw++ {
		// window of tb from tap (j = 2) of pixel ow = iw + pl − 2 to tap (j = 0) of ow + 2:
		// (ow−2)·32 + 9i + 6 … ow·32 + 9i + 2, 61 floats.
		o := (iw+pl-2)*32 + 6
		var s0, s1, s2 float32
		if t0 != nil {
			w := (*[61]float32)(t0[o : o+61])
			s0 += w[0] + w[29] + w[58]
			s1 += w[1] + w[30] + w[59]
			s2 += w[2] + w[31] + w[60]
		}
		if t1 != nil {
			w := (*[61]float32)(t1[o+9 : o+70])
			s0 += w[0] + w[29] + w[58]
			s1 += w[1] + w[30] + w[59]
			s2 += w[2] + w[31] + w[60]
		}
		if t2 != nil {
			w := (*[61]float32)(t2[o+18 : o+79])
			s0 += w[0] + w[29] + w[58]
			s1 += w[1] + w[30] + w[59]
			s2 += w[2] + w[31] + w[60]
		}
		d := (*[3]float32)(dst[iw*3 : iw*3+3])
		d[0], d[1], d[2] = d[0]+s0, d[1]+s1, d[2]+s2
	}
}

// addPixel3 adds into dx pixel iw the taps of kernel row i from tb (C = 3,
// bounds-checked: the image's edge pixels).
func (g *thinGather) addPixel3(dst, tb []float32, i, iw int) {
	var s0, s1, s2 float32
	for j := range g.kw {
		ow := iw + g.pl - j*g.dw
		if ow < 0 || ow >= g.OW {
			continue
		}
		t := (*[3]float32)(tb[ow*g.Kp+(i*g.kw+j)*3:])
		s0, s1, s2 = s0+t[0], s1+t[1], s2+t[2]
	}
	d := (*[3]float32)(dst[iw*3 : iw*3+3])
	d[0], d[1], d[2] = d[0]+s0, d[1]+s1, d[2]+s2
}

// addRow3 adds the taps of kernel row i from tb (the dP of one output row)
// into the dx row dst for C = 3 (RGB), summing each pixel's kw taps in
// registers; pixels whose taps all lie inside the output row take a loop
// without checks.
func (g *thinGather) addRow3(dst, tb []float32, i int) {
	Kp, kw, dw, pl, OW := g.Kp, g.kw, g.dw, g.pl, g.OW
	a, b := max(0, (kw-1)*dw-pl), min(g.W, OW-pl) // interior: every ow = iw + pl − j·dw in [0, OW)
	for iw := 0; iw < g.W; iw++ {
		var s0, s1, s2 float32
		if iw >= a && iw < b {
			o := (iw+pl)*Kp + i*kw*3 // tap j at o + j·(3 − dw·Kp)
			for range kw {
				t := (*[3]float32)(tb[o : o+3])
				s0, s1, s2 = s0+t[0], s1+t[1], s2+t[2]
				o += 3 - dw*Kp
			}
		} else {
			for j := range kw {
				ow := iw + pl - j*dw
				if ow < 0 || ow >= OW {
					continue
				}
				t := (*[3]float32)(tb[ow*Kp+(i*kw+j)*3:])
				s0, s1, s2 = s0+t[0], s1+t[1], s2+t[2]
			}
		}
		d := (*[3]float32)(dst[iw*3 : iw*3+3])
		d[0], d[1], d[2] = d[0]+s0, d[1]+s1, d[2]+s2
	}
}

// thinGatherDx is the dx of the thin paths with its scratch: dP = dz·kernelᵀ
// in tiles, gathered into dx by rows (thinGather).
type thinGatherDx struct {
	wtp    []float32 // kernelᵀ zero-padded to a multiple of 32 columns
	tile   []float32 // dP of a few output rows
	gather thinGather
}

// prepare readies the dx gather of the thin paths: d.wtp = kernelᵀ (cout ×
// Kp, columns K..Kp zero), d.gather aimed at dx and, with withTile, the dP
// tile buffer for tiles of rowsPerTile output rows (~4 MB of dP).
func (d *thinGatherDx) prepare(c *Conv2D, cg *convGeom, dx []float32, Kp int, withTile bool) (rowsPerTile int) {
	cout, w, K := c.cout, c.Kernel.Value.Data, cg.K
	N, H, W, gh, gw := cg.N, cg.H, cg.W, cg.gh, cg.gw
	d.wtp = ensure(d.wtp, cout*Kp)
	for m := range cout {
		row := d.wtp[m*Kp : (m+1)*Kp]
		for p := range K {
			row[p] = w[p*cout+m]
		}
		clear(row[K:])
	}
	OH, OW := gh.out, gw.out
	rowsPerTile = max(1, (1<<20)/(Kp*OW))
	if withTile {
		d.tile = ensure(d.tile, min(rowsPerTile, N*OH)*OW*Kp)
	}
	d.gather = thinGather{dx: dx, H: H, W: W, C: c.cin, OH: OH, OW: OW, Kp: Kp, kh: c.kh, kw: c.kw,
		dh: gh.dilation, dw: gw.dilation, pt: gh.padBegin, pl: gw.padBegin}
	return rowsPerTile
}
