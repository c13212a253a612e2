package nn

import (
	"runtime"
	"sync"

	"github.com/gotransfer/gotransfer/kernels"
)

// The stacked forward pass in bands (see conv_stacked.go for the layout):
// rather than stacking the whole input (N·OH·WP·kh·C floats, 1.8 MB for
// VGG's block1_conv1, written to memory and read back by the GEMM), the
// output rows are split across the cores and each core, band by band of a
// few output rows, stacks the band's input rows into its own small buffer
// (L1/L2) and runs the band's GEMM on it at once:
//
//	xsBand[q − q0, :, :] = xs[q, :, :]            q in [q0, q1)  (kh input rows per output row)
//	y[(q0·OW):(q1·OW), :] = patches(xsBand) · wp (+ bias, ReLU)
//
// A band is at most convThresholds.thinBandMACs multiply-adds
// (rows·OW·cout·K) and its GEMM runs on the calling core
// (kernels.SgemmSegmentsBiasReLUSerial): the cores share the bands.

// stackBand is one core's band: the stacked layout of s restricted to a
// few output rows held in xs, as a kernels.Segments with band-local rows
// (the band starts on an output row, so local patch row r sits where
// stacked.offset(r) says).
type stackBand struct {
	s  *stacked
	xs []float32
}

// Rows writes band patch row r, columns [p0, p0+kc) (kernels.Segments).
func (b *stackBand) Rows(dst []float32, r, p0, kc int) {
	o := b.s.offset(r) + p0
	copy(dst[:kc], b.xs[o:o+kc])
}

// SegmentWidth is K: the whole patch row is one segment.
func (b *stackBand) SegmentWidth() int { return b.s.SegmentWidth() }

// Segment is stacked.Segment on the band's buffer.
func (b *stackBand) Segment(r0, n, _ int) ([]float32, int, int, kernels.SegmentKind) {
	s := b.s
	if r0%s.OW+n > s.OW {
		return nil, 0, 0, kernels.SegmentPack
	}
	return b.xs, s.offset(r0), s.sw * s.kh * s.C, kernels.SegmentView
}

// stackedFwd is the running stackedForward call, shared by the cores.
type stackedFwd struct {
	s          *stacked
	bands      []stackBand // per core
	wp, bias   []float32
	y          []float32
	mask       []uint16 // nil, or y > 0 as bits (see stackedForward)
	relu       bool
	cout, rows int // cout; output rows per band
	wg         sync.WaitGroup
}

// stackedForward computes y = A·kernel (+ bias, ReLU) on the stacked path
// for x (N, H, W, cin), band by band; when mask is not nil (ReLU fused,
// cout a multiple of 16) it also records y > 0 into mask (kernels.ReluMask's
// layout), from registers as the micro-kernel finishes each tile.
func (t *thinConv) stackedForward(c *Conv2D, x, y []float32, g *convGeom, bias []float32, mask []uint16) {
	s := t.stackLayout(c, x, g)
	N, K := g.N, g.K
	t.wp = ensure(t.wp, K*c.cout)
	permuteKernel(t.wp, c.Kernel.Value.Data, c.kh, c.kw, c.cin, c.cout, true)
	f := &t.fwd
	f.s, f.wp, f.bias, f.y, f.relu, f.cout, f.mask = s, t.wp, bias, y, c.opt.ReLU, c.cout, mask
	f.rows = max(1, c.tune.thinBandMACs/(s.OW*c.cout*K))
	if workers := max(1, min(runtime.GOMAXPROCS(0), N*s.OH)); len(f.bands) < workers {
		f.bands = make([]stackBand, workers)
	}
	parallelRange(N*s.OH, f, &f.wg)
	f.s, f.wp, f.bias, f.y, f.mask = nil, nil, nil, nil, nil
	s.x = nil
}

// runRange computes output rows [lo, hi) (q = n·OH + oh), band by band.
func (f *stackedFwd) runRange(worker, lo, hi int) {
	s, b := f.s, &f.bands[worker]
	rowLen, K, OW := s.WP*s.kh*s.C, s.kh*s.kw*s.C, s.OW
	b.s = s
	for q0 := lo; q0 < hi; q0 += f.rows {
		q1 := min(q0+f.rows, hi)
		b.xs = ensure(b.xs, f.rows*rowLen)[:(q1-q0)*rowLen]
		s.fillRows(b.xs, q0, q1)
		var mask []uint16
		if f.mask != nil {
			mask = f.mask[q0*OW*f.cout/16 : q1*OW*f.cout/16]
		}
		kernels.SgemmSegmentsBiasReLUSerial((q1-q0)*OW, f.cout, K, b, f.wp, f.cout, f.bias, f.relu,
			f.y[q0*OW*f.cout:q1*OW*f.cout], f.cout, mask)
	}
	b.s = nil
}
