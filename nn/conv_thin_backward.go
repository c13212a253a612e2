package nn

import (
	"runtime"
	"sync"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// fusedBackward is the thin algorithm's backward for stride 1. The output
// rows are split across the cores in contiguous ranges; each core walks its
// range in chunks of whole output rows (about stackedKernelTile pixels, so a chunk's dz and dP stay in L2)
// and does, per chunk, everything that reads dz:
//
//	dz chunk = dy ⊙ [y > 0]                           (ReLU fused, [y > 0] from the forward's bit mask; else dy itself)
//	[dKernel; dBias] partial += tileᵀ · dz chunk        (tile: the chunk's stacked patch rows, then a 1)
//	dP chunk = dz chunk · kernelᵀ                       (Kp wide, as thinGatherDx)
//	dx rows the chunk reaches += its dP taps           (thinGather.addRow)
//
// so neither dz nor dP is ever written to memory and read back. The column
// of ones appended to the patch rows makes row K of the first GEMM's result
// Σ_rows dz = dBias, and (for K = 27) fills the second MR row panel of its
// 28 rows (no edge tile) instead of a separate sweep of Axpys.
//
// Two cores' ranges reach a few common dx rows (kh − 1 at each boundary):
// a core adds its taps for a dx row that output rows outside its range
// also reach into a private side row, and the side rows are added into dx
// in core order after the cores finish; all other dx rows are written by
// one core only. Per-core dKernel partials are summed in core order too, so
// results do not depend on timing.
func (t *thinConv) fusedBackward(c *Conv2D, g *convGeom, dy, db []float32, wantW bool) *tensor.Tensor {
	s := &t.stk
	K, cout := g.K, c.cout
	Kp := (K + 31) / 32 * 32
	W, OH, OW := g.W, g.gh.out, g.gw.out
	workers := runtime.GOMAXPROCS(0)
	f := &t.fused
	f.t, f.c, f.dy, f.db, f.wantW, f.Kp = t, c, dy, db, wantW, Kp // per-core buffers kept across calls
	f.chunkRows = max(1, stackedKernelTile/OW)
	if len(f.cores) < workers {
		f.cores = make([]thinCore, workers)
	}
	if len(s.tiles) < workers {
		s.tiles = make([][]float32, workers)
	}
	K1 := K + 1 // patch row and a 1 (dBias)
	// The layout only: stacked per chunk in runRange (a few output rows, in L2), not whole.
	var x []float32
	if wantW {
		x = c.x.Data
	}
	t.stackLayout(c, x, g)
	if wantW {
		t.dwT = ensure(t.dwT, workers*K1*cout)
		clear(t.dwT)
	}
	var dxT *tensor.Tensor
	f.dx = nil
	if c.inputGrad {
		var zeroed bool
		dxT, zeroed = c.gradInput(c.xShape)
		if !zeroed {
			dxT.Zero()
		}
		t.gather.prepare(c, g, dxT.Data, Kp, false)
		f.dx = dxT.Data
	}
	for w := range f.cores {
		f.cores[w].sides = f.cores[w].sides[:0]
	}
	parallelRange(g.N*OH, f, &f.wg)
	if c.inputGrad {
		rowLen := W * c.cin
		for w := range f.cores { // side rows in core order
			for _, sd := range f.cores[w].sides {
				kernels.Axpy(1, sd.row, f.dx[sd.Q*rowLen:(sd.Q+1)*rowLen])
			}
		}
	}
	f.t, f.c, f.dy, f.db, f.dx = nil, nil, nil, nil, nil
	s.x = nil
	if wantW {
		p0 := t.dwT[:K1*cout]
		for q := 1; q < workers; q++ {
			kernels.Axpy(1, t.dwT[q*K1*cout:(q+1)*K1*cout], p0)
		}
		permuteKernel(gradFor(c.Kernel).Data, p0, c.kh, c.kw, c.cin, cout, false)
		if db != nil { // db is only asked for with wantW
			copy(db, p0[K*cout:])
		}
	}
	return dxT
}

// thinFused is the running fusedBackward call, shared by the cores.
type thinFused struct {
	t         *thinConv
	c         *Conv2D
	dy, db    []float32
	dx        []float32 // nil without dx
	cores     []thinCore
	chunkRows int // output rows per chunk
	Kp        int
	wantW     bool
	wg        sync.WaitGroup
}

// thinCore is one core's scratch, kept across calls.
type thinCore struct {
	dz, band, dP []float32 // the chunk's dz, stacked input rows and patch gradients
	sides        []sideRow // dx rows shared with another core's range (rows reused across calls)
}

// sideRow is a core's private copy of the taps it adds into dx row Q.
type sideRow struct {
	Q   int
	row []float32
}

// side returns core's side row for dx row Q (zeroed when new), rowLen
// floats, reusing the rows of earlier calls kept past len(tc.sides).
func (tc *thinCore) side(Q, rowLen int) []float32 {
	for _, sd := range tc.sides {
		if sd.Q == Q {
			return sd.row
		}
	}
	if k := len(tc.sides); k < cap(tc.sides) {
		tc.sides = tc.sides[:k+1]
	} else {
		tc.sides = append(tc.sides, sideRow{})
	}
	sd := &tc.sides[len(tc.sides)-1]
	sd.Q, sd.row = Q, ensure(sd.row, rowLen)
	clear(sd.row)
	return sd.row
}

// runRange processes output rows [lo, hi) (q = n·OH + oh) chunk by chunk.
func (f *thinFused) runRange(worker, lo, hi int) {
	c, s, tc := f.c, &f.t.stk, &f.cores[worker]
	K, cout, Kp, OW := c.kh*c.kw*c.cin, c.cout, f.Kp, s.OW
	g := &f.t.gather.gather
	rowLen := g.W * g.C
	for qa := lo; qa < hi; qa += f.chunkRows {
		qb := min(qa+f.chunkRows, hi)
		r, tr := qa*OW, (qb-qa)*OW // first pixel, pixels
		dz := f.dy[r*cout : (r+tr)*cout]
		if c.opt.ReLU {
			tc.dz = ensure(tc.dz, f.chunkRows*OW*cout)
			buf := tc.dz[:tr*cout]
			if c.maskOK { // 1 bit per output instead of y (16× less to read)
				kernels.ReluBackwardMask(buf, dz, c.mask[r*cout/16:(r+tr)*cout/16])
			} else {
				kernels.ReluBackward(buf, dz, c.y.Data[r*cout:(r+tr)*cout])
			}
			dz = buf
		}
		// The next chunk's dy, prefetched into L2 by the two GEMMs below
		// (half each; all by the one that runs) so that its mask pass reads
		// L2 instead of memory.
		var nextDy []float32
		if qn := min(qb+f.chunkRows, hi); qn > qb {
			nextDy = f.dy[qb*OW*cout : qn*OW*cout]
		}
		pfW, pfP := nextDy, nextDy
		if f.wantW && f.dx != nil {
			pfW, pfP = nextDy[:len(nextDy)/2], nextDy[len(nextDy)/2:]
		}
		if f.wantW {
			K1 := K + 1
			s.tiles[worker] = ensure(s.tiles[worker], f.chunkRows*OW*K1)
			tile := s.tiles[worker][:tr*K1]
			tc.band = ensure(tc.band, (qb-qa)*s.WP*s.kh*s.C)
			s.fillRows(tc.band, qa, qb)
			s.copyRowsFrom(tc.band, qa, tile, K1, r, tr)
			for t := range tr {
				tile[t*K1+K] = 1
			}
			kernels.SgemmSerialPrefetch(true, false, K1, cout, tr, 1, tile, K1, dz, cout, 1, f.t.dwT[worker*K1*cout:(worker+1)*K1*cout], cout, pfW)
		}
		if f.dx == nil {
			continue
		}
		tc.dP = ensure(tc.dP, f.chunkRows*OW*Kp)
		dP := tc.dP[:tr*Kp]
		kernels.SgemmSerialPrefetch(false, false, tr, Kp, cout, 1, dz, cout, f.t.gather.wtp, Kp, 0, dP, Kp, pfP)
		Q0, Q1 := g.dxRows(qa, qb)
		for Q := Q0; Q < Q1; Q++ {
			dst := f.dx[Q*rowLen : (Q+1)*rowLen]
			if a, b := g.outRows(Q); a < b && (a < lo || b > hi) {
				dst = tc.side(Q, rowLen) // reached from outside [lo, hi) too
			}
			g.addRow(dst, Q, dP, qa, qb)
		}
	}
}
