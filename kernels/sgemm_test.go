package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// forEachLevel runs f once per kernel level with that level active, as a
// subtest named after it; a level the CPU (or build) lacks is skipped with a
// message saying so. The avx512 level, which has an in-place-B kernel, runs
// f a second time (subtest avx512-inplaceB) with B read in place wherever
// the job allows.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	prev := Level()
	defer SetLevel(prev)
	for _, name := range allNames {
		for _, inPlaceB := range []bool{false, true} {
			if inPlaceB && name != "avx512" {
				continue
			}
			sub := name
			if inPlaceB {
				sub += "-inplaceB"
			}
			t.Run(sub, func(t *testing.T) {
				if !slices.Contains(Levels(), name) {
					t.Skipf("kernel level %s is not supported on this CPU/build (supported: %v)", name, Levels())
				}
				if err := SetLevel(name); err != nil {
					t.Fatal(err)
				}
				if inPlaceB {
					if active.Load().kernelDB == nil {
						t.Fatalf("kernel level %s has no in-place-B kernel", name)
					}
					forceDirectB = 1
					defer func() { forceDirectB = 0 }()
				}
				f(t)
			})
		}
	}
}

// newRNG returns a generator with a fresh seed, logged so a failure can be
// replayed.
func newRNG(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// randMatrix returns rows×ld floats uniform in [-1, 1), never all zero.
func randMatrix(rng *rand.Rand, rows, ld int) []float32 {
	x := make([]float32, max(rows*ld, 1))
	for {
		nonzero := false
		for i := range x {
			x[i] = float32(rng.Float64()*2 - 1)
			nonzero = nonzero || x[i] != 0
		}
		if nonzero {
			return x
		}
	}
}

// gemmCase is one Sgemm call with its inputs.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	lda, ldb, ldc  int
	a, b, c        []float32 // c holds C's initial content with guards
	guard          int       // floats of guard before and after C
}

const guardValue = float32(-7.25e7) // sentinel around and between C's rows

// newCase builds random inputs; extra adds to every leading dimension.
func newCase(rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32, extra int) *gemmCase {
	g := &gemmCase{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, guard: 37}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	g.lda, g.ldb, g.ldc = max(colsA, 1)+extra, max(colsB, 1)+extra, max(n, 1)+extra
	g.a = randMatrix(rng, rowsA, g.lda)
	g.b = randMatrix(rng, rowsB, g.ldb)
	g.c = make([]float32, 2*g.guard+m*g.ldc)
	for i := range g.c {
		g.c[i] = guardValue
	}
	cv := randMatrix(rng, m, g.ldc)
	for i := range m {
		copy(g.c[g.guard+i*g.ldc:g.guard+i*g.ldc+n], cv[i*g.ldc:])
	}
	return g
}

// cview is the C matrix inside the guards.
func (g *gemmCase) cview(c []float32) []float32 { return c[g.guard : g.guard+g.m*g.ldc] }

// reference returns alpha·op(A)·op(B) + beta·C in float64 (naive triple
// loop) and, per element, the magnitude |alpha|·Σ|a||b| + |beta·c| that
// bounds its rounding error.
func (g *gemmCase) reference() (want, mag []float64) {
	opA := func(i, p int) float64 {
		if g.transA {
			return float64(g.a[p*g.lda+i])
		}
		return float64(g.a[i*g.lda+p])
	}
	opB := func(p, j int) float64 {
		if g.transB {
			return float64(g.b[j*g.ldb+p])
		}
		return float64(g.b[p*g.ldb+j])
	}
	c := g.cview(g.c)
	want = make([]float64, g.m*g.n)
	mag = make([]float64, g.m*g.n)
	for i := range g.m {
		for j := range g.n {
			var s, sa float64
			for p := range g.k {
				x := opA(i, p) * opB(p, j)
				s += x
				sa += math.Abs(x)
			}
			v := float64(g.alpha) * s
			m := math.Abs(float64(g.alpha)) * sa
			if g.beta != 0 {
				v += float64(g.beta) * float64(c[i*g.ldc+j])
				m += math.Abs(float64(g.beta) * float64(c[i*g.ldc+j]))
			}
			want[i*g.n+j], mag[i*g.n+j] = v, m
		}
	}
	return want, mag
}

// check runs Sgemm on a copy of C and compares it with the float64
// reference (and, when gonumToo, with gonum's Sgemm), and checks that the
// guards and the padding between rows are untouched.
func (g *gemmCase) check(t *testing.T, gonumToo bool) {
	t.Helper()
	got := slices.Clone(g.c)
	Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.cview(got), g.ldc)
	want, mag := g.reference()
	name := fmt.Sprintf("%s tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v lda=%d ldb=%d ldc=%d",
		Level(), g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, g.lda, g.ldb, g.ldc)
	compareC(t, name, g.cview(got), g.ldc, g.m, g.n, want, mag, g.k)
	checkGuards(t, name, got, g.guard, g.m, g.n, g.ldc)
	if gonumToo && !hasNaN(g.c) {
		ref := slices.Clone(g.c)
		ta, tb := blas.NoTrans, blas.NoTrans
		if g.transA {
			ta = blas.Trans
		}
		if g.transB {
			tb = blas.Trans
		}
		gonum.Implementation{}.Sgemm(ta, tb, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.cview(ref), g.ldc)
		gw := make([]float64, g.m*g.n)
		for i := range g.m {
			for j := range g.n {
				gw[i*g.n+j] = float64(g.cview(ref)[i*g.ldc+j])
			}
		}
		// gonum is itself rounded in float32: allow twice the bound.
		for i := range mag {
			mag[i] *= 2
		}
		compareC(t, name+" vs gonum", g.cview(got), g.ldc, g.m, g.n, gw, mag, g.k)
	}
}

func hasNaN(x []float32) bool {
	for _, v := range x {
		if v != v {
			return true
		}
	}
	return false
}

// compareC fails when |C - want| exceeds the float32 rounding bound
// (k+4)·2u·mag for any element (u = 2⁻²⁴), reporting the first few.
func compareC(t *testing.T, name string, c []float32, ldc, m, n int, want, mag []float64, k int) {
	t.Helper()
	bad := 0
	for i := range m {
		for j := range n {
			got := float64(c[i*ldc+j])
			tol := float64(k+4)*1.2e-7*mag[i*n+j] + 1e-30
			if d := math.Abs(got - want[i*n+j]); !(d <= tol) {
				if bad < 3 {
					t.Errorf("%s: C[%d,%d] = %g, want %g (|diff| %.3g > tol %.3g)", name, i, j, got, want[i*n+j], d, tol)
				}
				bad++
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d elements wrong in total", name, bad)
	}
}

// checkGuards fails when anything outside C's m×n elements changed.
func checkGuards(t *testing.T, name string, c []float32, guard, m, n, ldc int) {
	t.Helper()
	for idx, v := range c {
		inside := false
		if r := idx - guard; r >= 0 && r < m*ldc && r%ldc < n {
			inside = true
		}
		if !inside && v != guardValue {
			t.Errorf("%s: write outside C at flat index %d (offset %d from C's start): %g", name, idx, idx-guard, v)
			return
		}
	}
}

var scalars = []float32{0, 1, -0.5, 2}

func TestSgemmEachDimension1to33(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for dim := range 3 {
				for s := 1; s <= 33; s++ {
					size := [3]int{19, 35, 21}
					size[dim] = s
					alpha := scalars[rng.IntN(4)]
					beta := scalars[rng.IntN(4)]
					g := newCase(rng, tr[0], tr[1], size[0], size[1], size[2], alpha, beta, rng.IntN(3))
					g.check(t, s%4 == 0)
				}
			}
		}
	})
}

func TestSgemmPrimes(t *testing.T) {
	primes := []int{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97}
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for i, p := range primes {
			tr := [2]bool{i%2 == 1, i%4 >= 2}
			// the prime on every dimension, then mixed with two other primes
			newCase(rng, tr[0], tr[1], p, p, p, 1, 0, 0).check(t, true)
			q, r := primes[rng.IntN(len(primes))], primes[rng.IntN(len(primes))]
			newCase(rng, tr[1], tr[0], p, q, r, -0.5, 2, 1).check(t, false)
			newCase(rng, tr[0], tr[1], q, r, p, 2, -0.5, 0).check(t, false)
		}
	})
}

func TestSgemmAlphaBeta(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for _, alpha := range scalars {
			for _, beta := range scalars {
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
					newCase(rng, tr[0], tr[1], 45, 70, 50, alpha, beta, 3).check(t, true)
				}
			}
		}
	})
}

// TestSgemmBetaZeroNaN: beta == 0 must overwrite C, NaN and Inf included,
// also when alpha == 0 or k == 0.
func TestSgemmBetaZeroNaN(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for _, sz := range [][3]int{{30, 70, 20}, {14, 32, 1}, {5, 3, 0}, {100, 90, 500}} {
			for _, alpha := range []float32{1, 0, -0.5} {
				g := newCase(rng, false, sz[0]%2 == 0, sz[0], sz[1], sz[2], alpha, 0, 2)
				for i := range g.m {
					for j := range g.n {
						g.c[g.guard+i*g.ldc+j] = []float32{float32(math.NaN()), float32(math.Inf(1))}[(i+j)%2]
					}
				}
				g.check(t, false)
			}
		}
	})
}

// TestSgemmLarge covers several k passes, several column blocks, parallel
// splits along M and along N, and ragged edges, with padded leading
// dimensions.
func TestSgemmLarge(t *testing.T) {
	shapes := [][3]int{{301, 67, 1000}, {97, 1100, 800}, {1000, 35, 130}, {64, 700, 450}}
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for i, s := range shapes {
			g := newCase(rng, i%2 == 1, i >= 2, s[0], s[1], s[2], 1, scalars[i], 5)
			g.check(t, true)
		}
	})
}

// TestSgemmZeroAllocs checks that a warmed-up parallel Sgemm allocates
// nothing (packing buffers, jobs and workers are reused).
func TestSgemmZeroAllocs(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		m, n, k := 200, 150, 300
		a, b, c := randMatrix(rng, m, k), randMatrix(rng, k, n), make([]float32, m*n)
		run := func() { Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }
		run()
		if allocs := testing.AllocsPerRun(20, run); allocs != 0 {
			t.Errorf("Sgemm allocates %v times per call after warm-up, want 0", allocs)
		}
		rows := func(dst []float32, i, p0, kc int) { copy(dst, a[i*k+p0:]) }
		bias := b[:n]
		runRows := func() { SgemmRowsBiasReLU(m, n, k, rows, b, n, bias, true, c, n) }
		runRows()
		if allocs := testing.AllocsPerRun(20, runRows); allocs != 0 {
			t.Errorf("SgemmRowsBiasReLU allocates %v times per call after warm-up, want 0", allocs)
		}
	})
}

func TestSgemmPanicsOnBadInput(t *testing.T) {
	a := make([]float32, 12)
	cases := map[string]func(){
		"short a":   func() { Sgemm(false, false, 3, 4, 5, 1, a, 5, make([]float32, 20), 4, 0, make([]float32, 12), 4) },
		"small lda": func() { Sgemm(false, false, 3, 4, 4, 1, a, 3, make([]float32, 16), 4, 0, make([]float32, 12), 4) },
		"short c":   func() { Sgemm(false, false, 3, 4, 4, 1, a, 4, make([]float32, 16), 4, 0, make([]float32, 11), 4) },
		"negative":  func() { Sgemm(false, false, -1, 4, 4, 1, a, 4, a, 4, 0, a, 4) },
	}
	for name, f := range cases {
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

func TestSetLevel(t *testing.T) {
	prev := Level()
	defer SetLevel(prev)
	if err := SetLevel("sse9"); err == nil {
		t.Error("SetLevel(sse9) succeeded")
	}
	if Level() != prev {
		t.Errorf("failed SetLevel changed the level to %s", Level())
	}
	if err := SetLevel("generic"); err != nil || Level() != "generic" {
		t.Errorf("SetLevel(generic) = %v, Level() = %s", err, Level())
	}
	if got := Levels(); got[len(got)-1] != "generic" {
		t.Errorf("Levels() = %v, want generic last", got)
	}
}

// FuzzSgemm compares Sgemm with the float64 reference on fuzzed shapes,
// transposes, padding and scalars, for every supported level.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(15), uint8(33), uint8(17), uint8(3), uint8(7), uint64(2))
	f.Add(uint8(29), uint8(64), uint8(200), uint8(1), uint8(13), uint64(3))
	f.Add(uint8(0), uint8(5), uint8(9), uint8(2), uint8(2), uint64(4))
	f.Fuzz(func(t *testing.T, m, n, k, flags, extra uint8, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 7))
		transA, transB := flags&1 != 0, flags&2 != 0
		alpha, beta := scalars[flags>>2&3], scalars[flags>>4&3]
		prev := Level()
		defer SetLevel(prev)
		for _, name := range Levels() {
			SetLevel(name)
			g := newCase(rng, transA, transB, int(m)%70, int(n)%70, int(k), alpha, beta, int(extra)%9)
			g.check(t, false)
		}
	})
}
