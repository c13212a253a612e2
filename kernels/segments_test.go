package kernels

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"
)

// denseSegments serves a dense m×k matrix as Segments: a block is reported
// zero when it is, otherwise as a view or for packing, alternating by
// position so that one product mixes all three kinds.
type denseSegments struct {
	m, k, w int
	data    []float32
	bad     atomic.Bool
	views   atomic.Int64
}

func (d *denseSegments) Rows(dst []float32, i, p0, kc int) {
	if i < 0 || i >= d.m || p0 < 0 || p0+kc > d.k || len(dst) != kc {
		d.bad.Store(true)
		return
	}
	copy(dst, d.data[i*d.k+p0:i*d.k+p0+kc])
}

func (d *denseSegments) SegmentWidth() int { return d.w }

func (d *denseSegments) Segment(i0, rows, s int) ([]float32, int, int, SegmentKind) {
	if i0 < 0 || rows <= 0 || i0+rows > d.m || s < 0 || (s+1)*d.w > d.k {
		d.bad.Store(true)
	}
	zero := true
	for i := i0; i < i0+rows && zero; i++ {
		for _, v := range d.data[i*d.k+s*d.w : i*d.k+(s+1)*d.w] {
			if v != 0 {
				zero = false
				break
			}
		}
	}
	switch {
	case zero:
		return nil, 0, 0, SegmentZero
	case (i0/3+s)%3 == 0:
		return nil, 0, 0, SegmentPack
	}
	d.views.Add(1)
	return d.data, i0*d.k + s*d.w, d.k, SegmentView
}

// TestSgemmSegmentsBiasReLU checks the segment driver against a float64
// reference with view, packed and zero (skipped) segments, edge tiles, all
// segments zero for some rows, NaN in C and every epilogue; with ReLU and
// n a multiple of 16 it also records the ReLU mask, which must match C > 0
// bit for bit (kernel-written on full tiles, Go-written on edge tiles) and
// leave the words around it alone.
func TestSgemmSegmentsBiasReLU(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		shapes := [][4]int{ // m, n, k, w
			{1, 1, 1, 1}, {14, 32, 48, 16}, {15, 33, 40, 8}, {200, 64, 576, 192}, {97, 70, 99, 33},
			{301, 130, 1152, 384}, {60, 513, 40, 20}, {500, 64, 27, 9}, {45, 48, 27, 9},
		}
		for idx, s := range shapes {
			for _, withBias := range []bool{false, true} {
				for _, relu := range []bool{false, true} {
					m, n, k, w := s[0], s[1], s[2], s[3]
					d := &denseSegments{m: m, k: k, w: w, data: randMatrix(rng, m, k)}
					for i := range m { // zero blocks: some segments of some row runs, and whole rows
						for sg := range k / w {
							if (i/20+sg)%4 == 1 || (i/30)%5 == 2 {
								clear(d.data[i*k+sg*w : i*k+(sg+1)*w])
							}
						}
					}
					ldb, ldc := n+idx%2, n+idx%3
					b := randMatrix(rng, k, ldb)
					var bias []float32
					if withBias {
						bias = randMatrix(rng, 1, n)
					}
					g := &gemmCase{m: m, n: n, ldc: ldc, guard: 21}
					g.c = make([]float32, 2*g.guard+m*ldc)
					for i := range g.c {
						g.c[i] = guardValue
					}
					for i := range m {
						for j := range n {
							g.c[g.guard+i*ldc+j] = float32(math.NaN())
						}
					}
					got := slices.Clone(g.c)
					var mask []uint16
					const mguard = 5
					if relu && n%16 == 0 {
						mask = make([]uint16, m*n/16+2*mguard)
						for i := range mask {
							mask[i] = 0x5a5a
						}
					}
					var inner []uint16
					if mask != nil {
						inner = mask[mguard : len(mask)-mguard]
					}
					SgemmSegmentsBiasReLU(m, n, k, d, b, ldb, bias, relu, g.cview(got), ldc, inner)
					name := fmt.Sprintf("%s SgemmSegmentsBiasReLU m=%d n=%d k=%d w=%d bias=%v relu=%v", Level(), m, n, k, w, withBias, relu)
					if d.bad.Load() {
						t.Errorf("%s: Rows or Segment called out of range", name)
					}
					want, mag := rowsReference(m, n, k, 1, d.data, b, ldb, 0, nil, ldc, bias, relu)
					compareC(t, name, g.cview(got), ldc, m, n, want, mag, k)
					checkGuards(t, name, got, g.guard, m, n, ldc)
					if mask != nil {
						for q := range mask {
							if (q < mguard || q >= len(mask)-mguard) && mask[q] != 0x5a5a {
								t.Errorf("%s: mask word %d outside the mask overwritten", name, q-mguard)
							}
						}
						for i := range m {
							for jj := range n {
								bit := inner[(i*n+jj)/16]>>((i*n+jj)%16)&1 != 0
								if v := g.cview(got)[i*ldc+jj]; bit != (v > 0) {
									t.Fatalf("%s: mask bit (%d, %d) = %v for C = %g", name, i, jj, bit, v)
								}
							}
						}
					}
					if m >= 2*activeMR() && d.views.Load() == 0 {
						t.Errorf("%s: no segment was read in place", name)
					}
				}
			}
		}
	})
}

// activeMR is the active level's micro-tile height.
func activeMR() int { return active.Load().mr }
