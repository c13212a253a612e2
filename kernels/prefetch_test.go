package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// planLines expands a prefetch plan the way the micro-kernels walk it:
// total lines from ptr, first of them in the first row, then rows of lines,
// jumping jump bytes between rows.
func planLines(p prefetchPlan) []uintptr {
	var out []uintptr
	addr, left := p.ptr, p.first
	for range p.total {
		out = append(out, addr)
		addr += 64
		if left--; left == 0 {
			addr += uintptr(p.jump)
			left = p.lines
		}
	}
	return out
}

// TestPlanSharesCoverPanel checks that the shares planShares hands out, one
// per kernel call, walk every line of the panel exactly once and in order,
// with at most ⌈total/calls⌉ lines per call, and nothing past the end.
func TestPlanSharesCoverPanel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, uint64(t.Name()[0])))
	for trial := range 2000 {
		pl := panelLines{start: 1 << 20, lines: 1 + rng.IntN(40), rows: 1 + rng.IntN(30)}
		pl.stride = pl.lines*64 + 64*rng.IntN(100)
		if trial%10 == 0 {
			pl.rows = 0 // nothing to prefetch
		}
		calls := 1 + rng.IntN(200)
		var want []uintptr
		for r := range pl.rows {
			for l := range pl.lines {
				want = append(want, pl.start+uintptr(r*pl.stride+l*64))
			}
		}
		per := (len(want) + calls - 1) / calls
		var sh planShares
		sh.start(pl, calls)
		var got []uintptr
		for q := range calls + 3 {
			lines := planLines(sh.next())
			if len(lines) > per {
				t.Fatalf("%+v calls %d: share %d has %d lines > %d", pl, calls, q, len(lines), per)
			}
			if q >= calls && len(lines) > 0 {
				t.Fatalf("%+v calls %d: share %d past the last call has %d lines", pl, calls, q, len(lines))
			}
			got = append(got, lines...)
		}
		if len(got) != len(want) {
			t.Fatalf("%+v calls %d: %d lines prefetched, want %d", pl, calls, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v calls %d: line %d at %#x, want %#x", pl, calls, i, got[i], want[i])
			}
		}
	}
}

// TestMaxLinesPerL2Set compares the set-load count with a direct count of
// every line of the panel.
func TestMaxLinesPerL2Set(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	for range 300 {
		ldb := 16 * (1 + rng.IntN(700))
		rows := 1 + rng.IntN(700)
		cols := 1 + rng.IntN(ldb)
		if rng.IntN(4) == 0 {
			ldb = 16 * 2048 * (1 + rng.IntN(3)) // rows 128 KiB apart: all on the same sets
			cols = 1 + rng.IntN(40000)
		}
		var count [l2Sets]int
		want := 0
		for r := range rows {
			for l := range (cols*4 + 63) / 64 {
				set := (r*ldb*4/64 + l) % l2Sets
				count[set]++
				want = max(want, count[set])
			}
		}
		if got := maxLinesPerL2Set(ldb, rows, cols); got != want {
			t.Fatalf("ldb %d rows %d cols %d: %d lines on the fullest set, want %d", ldb, rows, cols, got, want)
		}
	}
}

// TestSetPlansPutsNonEmptyFirst: the kernels stop at the first empty plan,
// so setPlans must move the non-empty ones to the front, in order.
func TestSetPlansPutsNonEmptyFirst(t *testing.T) {
	a, b, c := prefetchPlan{ptr: 1, total: 3}, prefetchPlan{ptr: 2, total: 1}, prefetchPlan{ptr: 3, total: 2}
	var x kernelAux
	for _, tc := range []struct {
		in   [3]prefetchPlan
		want []uintptr
	}{
		{[3]prefetchPlan{a, b, c}, []uintptr{1, 2, 3}},
		{[3]prefetchPlan{{}, b, c}, []uintptr{2, 3}},
		{[3]prefetchPlan{a, {}, c}, []uintptr{1, 3}},
		{[3]prefetchPlan{{}, {}, c}, []uintptr{3}},
		{[3]prefetchPlan{}, nil},
	} {
		x.pf[3] = prefetchPlan{ptr: 9, total: 9} // stale: must be cleared
		x.setPlans(tc.in[0], tc.in[1], tc.in[2])
		for q := range x.pf {
			if q < len(tc.want) {
				if x.pf[q].ptr != tc.want[q] || x.pf[q].total == 0 {
					t.Fatalf("%v: pf[%d] = %+v, want plan %d", tc.in, q, x.pf[q], tc.want[q])
				}
			} else if x.pf[q] != (prefetchPlan{}) {
				t.Fatalf("%v: pf[%d] = %+v, want empty", tc.in, q, x.pf[q])
			}
		}
	}
}

// TestSgemmSerialPrefetch: prefetching a caller's buffer changes no result
// (bit-identical to SgemmSerial) whatever the buffer: nil, one float, not
// 64-byte aligned, far larger than the prefetch slots.
func TestSgemmSerialPrefetch(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		big := randMatrix(rng, 1, 1<<20)
		for _, next := range [][]float32{nil, big[:1], big[3:1000], big} {
			for _, sh := range [][3]int{{50, 70, 90}, {300, 64, 600}, {14, 32, 5}} {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
					m, n, k := sh[0], sh[1], sh[2]
					a, b := randMatrix(rng, m, k), randMatrix(rng, k, n)
					lda, ldb := k, n
					if tr[0] {
						lda = m
					}
					if tr[1] {
						ldb = k
					}
					want, got := randMatrix(rng, m, n), make([]float32, m*n)
					copy(got, want)
					SgemmSerial(tr[0], tr[1], m, n, k, 1.5, a, lda, b, ldb, -0.5, want, n)
					SgemmSerialPrefetch(tr[0], tr[1], m, n, k, 1.5, a, lda, b, ldb, -0.5, got, n, next)
					if !slices.Equal(got, want) {
						t.Fatalf("m=%d n=%d k=%d trans=%v len(next)=%d: differs from SgemmSerial", m, n, k, tr, len(next))
					}
				}
			}
		}
	})
}
