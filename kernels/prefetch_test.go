package kernels

import (
	"math/rand/v2"
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
