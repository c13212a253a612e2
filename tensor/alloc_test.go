package tensor

import "testing"

func TestHugeSpan(t *testing.T) {
	const M = hugePageSize
	for _, c := range []struct {
		p      uintptr
		n      int
		lo, hi int
	}{
		{M, 4 * M, 0, 4 * M},                    // aligned: every page
		{M + 8192, 4 * M, M - 8192, 4*M - 8192}, // first and last partial pages left out
		{M + 8192, M, 0, 0},                     // no whole page inside
		{3*M - 4096, M + 4096, 4096, M + 4096},
		{M, 0, 0, 0},
	} {
		lo, hi := hugeSpan(c.p, c.n)
		if lo != c.lo || hi != c.hi {
			t.Errorf("hugeSpan(%#x, %d) = [%d, %d), want [%d, %d)", c.p, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func TestFloatsZeroed(t *testing.T) {
	for _, n := range []int{0, 1, 1000, HugePageMin/4 - 1, HugePageMin / 4, 3 * HugePageMin / 4} {
		x := Floats(n)
		if len(x) != n {
			t.Fatalf("Floats(%d) has length %d", n, len(x))
		}
		for i, v := range x {
			if v != 0 {
				t.Fatalf("Floats(%d)[%d] = %g, want 0", n, i, v)
			}
		}
		if n > 0 {
			x[n-1] = 1 // writable to the end
		}
	}
}
