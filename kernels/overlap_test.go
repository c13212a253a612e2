package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSgemmSerialOverlap checks SgemmSerialOverlap against a float64
// reference that reads the overlapping rows (row p of B = b[p·ldb :
// p·ldb+n] with ldb < n, likewise A) directly, on every level, with A plain
// and transposed, overlapping or not, B rows on and off cache lines (in
// place or packed on AVX-512), partial tiles, the alpha/beta cases and
// beta == 0 over NaN, and guards around C.
func TestSgemmSerialOverlap(t *testing.T) {
	cases := []struct {
		m, n, k, ldb, off int
		lda               int // A's row stride when it overlaps (0: rows apart)
	}{
		{64, 192, 500, 64, 0, 0},   // a 3x3 conv's kernel row, C = 64 (block1_conv2)
		{192, 64, 500, 64, 0, 64},  // the same transposed: op(A) = patchesᵀ, B = dz
		{64, 384, 300, 128, 16, 0}, // C = 128
		{384, 64, 300, 64, 0, 128}, // transposed, C = 128
		{14, 32, 37, 16, 0, 5},
		{30, 96, 1000, 32, 0, 16},
		{5, 100, 33, 7, 3, 2},  // ldb and b off cache lines: packed
		{17, 70, 61, 16, 0, 9}, // partial micro-panels in m and n
		{1, 1, 1, 1, 0, 1},
		{3, 48, 2, 48, 0, 0}, // no overlap (ldb == n)
	}
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for _, tc := range cases {
			for _, transA := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {2, -0.5}} {
					lda := tc.k + 3
					if transA {
						lda = tc.m + 5
					}
					if tc.lda > 0 {
						lda = tc.lda
					}
					checkOverlap(t, rng, transA, tc.m, tc.n, tc.k, lda, tc.ldb, tc.off, ab[0], ab[1])
				}
			}
		}
	})
}

// checkOverlap runs one SgemmSerialOverlap call on random operands (B
// starting off floats past a 64-byte boundary) and compares it with a
// float64 reference, with guards around C (NaN in C when beta == 0).
func checkOverlap(t *testing.T, rng *rand.Rand, transA bool, m, n, k, lda, ldb, off int, alpha, beta float32) {
	t.Helper()
	g := &gemmCase{transA: transA, m: m, n: n, k: k, alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: n + 2, guard: 40}
	rowsA, colsA := stored(transA, m, k)
	g.a = make([]float32, max(0, (rowsA-1)*lda+colsA)) // the rows may overlap
	for i := range g.a {
		g.a[i] = float32(rng.Float64()*2 - 1)
	}
	bAll := alignedFloats(off + max(0, (k-1)*ldb+n))
	for i := range bAll {
		bAll[i] = float32(rng.Float64()*2 - 1)
	}
	g.b = bAll[off:]
	g.c = make([]float32, 2*g.guard+m*g.ldc)
	for i := range g.c {
		g.c[i] = guardValue
	}
	cv := g.cview(g.c)
	for i := range m {
		for j := range n {
			v := float32(rng.Float64()*2 - 1)
			if beta == 0 {
				v = float32(math.NaN())
			}
			cv[i*g.ldc+j] = v
		}
	}
	want, mag := g.reference()
	got := slices.Clone(g.c)
	SgemmSerialOverlap(transA, m, n, k, alpha, g.a, lda, g.b, ldb, beta, g.cview(got), g.ldc)
	name := fmt.Sprintf("overlap m=%d n=%d k=%d lda=%d ldb=%d off=%d transA=%v alpha=%g beta=%g", m, n, k, lda, ldb, off, transA, alpha, beta)
	compareC(t, name, g.cview(got), g.ldc, m, n, want, mag, k)
	checkGuards(t, name, got, g.guard, m, n, g.ldc)
	if t.Failed() {
		t.FailNow()
	}
}

// FuzzSgemmSerialOverlap checks SgemmSerialOverlap on every level for
// random shapes and strides, overlapping or not (ld from 1 up).
func FuzzSgemmSerialOverlap(f *testing.F) {
	f.Add(uint8(64), uint8(192), uint16(300), uint8(64), uint8(64), uint8(0), uint8(1), uint64(1))
	f.Add(uint8(15), uint8(33), uint16(17), uint8(3), uint8(7), uint8(5), uint8(4), uint64(2))
	f.Add(uint8(1), uint8(1), uint16(1), uint8(1), uint8(1), uint8(0), uint8(0), uint64(3))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, lda, ldb, off, flags uint8, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 11))
		transA := flags&1 != 0
		alpha, beta := scalars[flags>>1&3], scalars[flags>>3&3]
		mm, nn, kk := int(m)%80, int(n)%200, int(k)%700
		ldA, ldB := max(1, int(lda)), max(1, int(ldb))
		prev := Level()
		defer SetLevel(prev)
		for _, name := range Levels() {
			SetLevel(name)
			checkOverlap(t, rng, transA, mm, nn, kk, ldA, ldB, int(off)%17, alpha, beta)
		}
	})
}

func TestSgemmSerialOverlapPanics(t *testing.T) {
	b := make([]float32, 10)
	c := make([]float32, 16)
	a := make([]float32, 16)
	for name, f := range map[string]func(){
		"ldb 0":   func() { SgemmSerialOverlap(false, 1, 4, 2, 1, a, 2, b, 0, 0, c, 4) },
		"short b": func() { SgemmSerialOverlap(false, 1, 8, 4, 1, a, 4, b, 2, 0, c, 8) },
		"lda 0":   func() { SgemmSerialOverlap(true, 4, 1, 2, 1, a, 0, b, 1, 0, c, 1) },
		"short a": func() { SgemmSerialOverlap(true, 8, 1, 4, 1, a[:10], 2, b, 1, 0, c, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
