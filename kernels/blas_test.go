package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// transposes are every valid blas.Transpose (ConjTrans is Trans for reals).
var transposes = []blas.Transpose{blas.NoTrans, blas.Trans, blas.ConjTrans}

// minLen is the fewest floats Gonum's Sgemm accepts for a rows×cols operand
// with row stride ld: (rows-1)·ld + cols (with k = 0 that can still ask for
// floats, which are never read), none when C is empty.
func minLen(rows, cols, ld, m, n int) int {
	if m == 0 || n == 0 {
		return 0
	}
	return max(0, (rows-1)*ld+cols)
}

// TestBLASSgemmMatchesGonum runs BLAS.Sgemm and Gonum's Sgemm on the same
// inputs (every transpose pair, alpha and beta among 0, 1, -0.5 and 2,
// sizes 0, 1 and ragged ones, leading dimensions at and above the minimum,
// A and B no longer than Gonum requires) on every kernel level, and checks
// that C agrees within float32 rounding and that nothing outside C moved.
func TestBLASSgemmMatchesGonum(t *testing.T) {
	sizes := [][3]int{
		{0, 0, 0}, {0, 5, 3}, {4, 0, 3}, {3, 4, 0}, {1, 1, 1}, {1, 7, 1}, {7, 1, 1},
		{1, 1, 9}, {5, 3, 1}, {17, 33, 9}, {31, 16, 64}, {6, 50, 13}, {130, 70, 200},
	}
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for _, sz := range sizes {
			for _, tA := range transposes {
				for _, tB := range transposes {
					for _, extra := range []int{0, 3} {
						alpha, beta := scalars[rng.IntN(len(scalars))], scalars[rng.IntN(len(scalars))]
						checkBLASSgemm(t, rng, tA, tB, sz[0], sz[1], sz[2], alpha, beta, extra)
					}
				}
			}
		}
		for _, alpha := range scalars {
			for _, beta := range scalars {
				checkBLASSgemm(t, rng, blas.Trans, blas.NoTrans, 23, 19, 11, alpha, beta, 1)
			}
		}
	})
}

// checkBLASSgemm compares one BLAS.Sgemm call with Gonum's.
func checkBLASSgemm(t *testing.T, rng *rand.Rand, tA, tB blas.Transpose, m, n, k int, alpha, beta float32, extra int) {
	t.Helper()
	g := newCase(rng, tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, beta, extra)
	rowsA, colsA := stored(g.transA, m, k)
	rowsB, colsB := stored(g.transB, k, n)
	g.a = g.a[:minLen(rowsA, colsA, g.lda, m, n)]
	g.b = g.b[:minLen(rowsB, colsB, g.ldb, m, n)]
	got, ref := slices.Clone(g.c), slices.Clone(g.c)
	BLAS.Sgemm(tA, tB, m, n, k, alpha, g.a, g.lda, g.b, g.ldb, beta, g.cview(got), g.ldc)
	gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, g.a, g.lda, g.b, g.ldb, beta, g.cview(ref), g.ldc)
	name := fmt.Sprintf("%s tA=%c tB=%c m=%d n=%d k=%d alpha=%v beta=%v lda=%d ldb=%d ldc=%d",
		Level(), tA, tB, m, n, k, alpha, beta, g.lda, g.ldb, g.ldc)
	want := make([]float64, m*n)
	for i := range m {
		for j := range n {
			want[i*n+j] = float64(g.cview(ref)[i*g.ldc+j])
		}
	}
	// Both are rounded in float32: twice the bound of one.
	_, mag := g.reference()
	for i := range mag {
		mag[i] *= 2
	}
	compareC(t, name+" vs gonum", g.cview(got), g.ldc, m, n, want, mag, k)
	checkGuards(t, name, got, g.guard, m, n, g.ldc)
}

// TestBLASLevel1MatchesGonum compares Saxpy, Sscal and Sdot with Gonum's
// for unit increments (our kernels) and others (Gonum's code) on every
// level.
func TestBLASLevel1MatchesGonum(t *testing.T) {
	incs := [][2]int{{1, 1}, {2, 1}, {1, 3}, {-1, 1}, {-2, -3}}
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for _, n := range []int{0, 1, 2, 15, 16, 17, 100, 1000} {
			for _, inc := range incs {
				for _, alpha := range []float32{0, 1, -0.5} {
					x := randMatrix(rng, 1, max(1, n*abs(inc[0]))+2)
					y := randMatrix(rng, 1, max(1, n*abs(inc[1]))+1)
					name := fmt.Sprintf("%s n=%d incX=%d incY=%d alpha=%v", Level(), n, inc[0], inc[1], alpha)

					got, ref := slices.Clone(y), slices.Clone(y)
					BLAS.Saxpy(n, alpha, x, inc[0], got, inc[1])
					gonum.Implementation{}.Saxpy(n, alpha, x, inc[0], ref, inc[1])
					for i := range got {
						// y + alpha·x rounds once or twice (fused or not).
						tol := 2.4e-7 * (math.Abs(float64(y[i])) + math.Abs(float64(alpha))*2)
						if d := math.Abs(float64(got[i] - ref[i])); !(d <= tol) {
							t.Errorf("Saxpy %s: y[%d] = %g, Gonum %g", name, i, got[i], ref[i])
							break
						}
					}

					if inc[0] > 0 {
						got, ref = slices.Clone(x), slices.Clone(x)
						if n > 0 {
							got[0], ref[0] = float32(math.NaN()), float32(math.NaN())
						}
						BLAS.Sscal(n, alpha, got, inc[0])
						gonum.Implementation{}.Sscal(n, alpha, ref, inc[0])
						if !slices.EqualFunc(got, ref, sameFloat) {
							t.Errorf("Sscal %s: got %v, want %v", name, got[:min(4, len(got))], ref[:min(4, len(ref))])
						}
					}

					d := BLAS.Sdot(n, x, inc[0], y, inc[1])
					dr := gonum.Implementation{}.Sdot(n, x, inc[0], y, inc[1])
					var mag float64
					for i := range n {
						ix, iy := i*inc[0], i*inc[1]
						if inc[0] < 0 {
							ix = (i - n + 1) * inc[0]
						}
						if inc[1] < 0 {
							iy = (i - n + 1) * inc[1]
						}
						mag += math.Abs(float64(x[ix]) * float64(y[iy]))
					}
					if tol := 2*float64(n+4)*1.2e-7*mag + 1e-30; !(math.Abs(float64(d-dr)) <= tol) {
						t.Errorf("Sdot %s = %g, Gonum %g (tol %.3g)", name, d, dr, tol)
					}
				}
			}
		}
	})
}

func abs(x int) int { return max(x, -x) }

// sameFloat is == that also equates two NaNs.
func sameFloat(a, b float32) bool { return a == b || a != a && b != b }

// TestBLASPanicsLikeGonum calls BLAS and Gonum's implementation with each
// bad argument (and some with several, to fix the order of the checks) and
// requires both to panic with the message written here, or both not to.
func TestBLASPanicsLikeGonum(t *testing.T) {
	f := func(n int) []float32 { return make([]float32, n) }
	const (
		N, T = blas.NoTrans, blas.Trans
		bad  = blas.Transpose('x')
	)
	type call func(impl blas.Float32)
	cases := []struct {
		name string
		want string // "" when the call must not panic
		call call
	}{
		{"bad tA", "blas: illegal transpose", func(b blas.Float32) { b.Sgemm(bad, N, 2, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2) }},
		{"bad tB", "blas: illegal transpose", func(b blas.Float32) { b.Sgemm(N, bad, 2, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2) }},
		{"bad tA before m<0", "blas: illegal transpose", func(b blas.Float32) { b.Sgemm(bad, N, -1, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2) }},
		{"m<0", "blas: m < 0", func(b blas.Float32) { b.Sgemm(N, N, -1, 2, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2) }},
		{"m<0 before n<0", "blas: m < 0", func(b blas.Float32) { b.Sgemm(N, N, -1, -1, -1, 1, f(4), 2, f(4), 2, 0, f(4), 2) }},
		{"n<0", "blas: n < 0", func(b blas.Float32) { b.Sgemm(N, N, 2, -1, 2, 1, f(4), 2, f(4), 2, 0, f(4), 2) }},
		{"k<0", "blas: k < 0", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, -1, 1, f(4), 2, f(4), 2, 0, f(4), 2) }},
		{"k<0 before lda", "blas: k < 0", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, -1, 1, f(4), 0, f(4), 2, 0, f(4), 2) }},
		{"lda < k", "blas: bad leading dimension of A", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, 3, 1, f(6), 2, f(6), 2, 0, f(4), 2) }},
		{"lda < m (Trans)", "blas: bad leading dimension of A", func(b blas.Float32) { b.Sgemm(T, N, 3, 2, 2, 1, f(6), 2, f(4), 2, 0, f(6), 2) }},
		{"lda = 0 with k = 0", "blas: bad leading dimension of A", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, 0, 1, nil, 0, nil, 2, 0, f(4), 2) }},
		{"ldb < n", "blas: bad leading dimension of B", func(b blas.Float32) { b.Sgemm(N, N, 2, 3, 2, 1, f(4), 2, f(6), 2, 0, f(6), 3) }},
		{"ldb < k (Trans)", "blas: bad leading dimension of B", func(b blas.Float32) { b.Sgemm(N, T, 2, 2, 3, 1, f(6), 3, f(6), 2, 0, f(4), 2) }},
		{"ldc < n", "blas: bad leading dimension of C", func(b blas.Float32) { b.Sgemm(N, N, 2, 3, 2, 1, f(4), 2, f(6), 3, 0, f(6), 2) }},
		{"lda before ldc", "blas: bad leading dimension of A", func(b blas.Float32) { b.Sgemm(N, N, 2, 3, 2, 1, f(4), 1, f(6), 3, 0, f(6), 2) }},
		{"ldc before short a", "blas: bad leading dimension of C", func(b blas.Float32) { b.Sgemm(N, N, 2, 3, 2, 1, f(1), 2, f(6), 3, 0, f(6), 2) }},
		{"m=0 with short slices", "", func(b blas.Float32) { b.Sgemm(N, N, 0, 3, 2, 1, nil, 2, nil, 3, 0, nil, 3) }},
		{"n=0 with short slices", "", func(b blas.Float32) { b.Sgemm(N, N, 2, 0, 2, 1, nil, 2, nil, 1, 0, nil, 1) }},
		{"k=0, a and b empty", "", func(b blas.Float32) { b.Sgemm(T, N, 1, 2, 0, 1, nil, 1, nil, 2, 0, f(2), 2) }},
		{"k=0, short a", "blas: insufficient length of a", func(b blas.Float32) { b.Sgemm(N, N, 3, 2, 0, 1, f(1), 1, nil, 2, 0, f(6), 2) }},
		{"short a", "blas: insufficient length of a", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, 3, 1, f(5), 3, f(6), 2, 0, f(4), 2) }},
		{"short a (Trans)", "blas: insufficient length of a", func(b blas.Float32) { b.Sgemm(T, N, 2, 2, 3, 1, f(7), 3, f(6), 2, 0, f(4), 2) }},
		{"short a before short b", "blas: insufficient length of a", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, 3, 1, f(5), 3, f(1), 2, 0, f(1), 2) }},
		{"short b", "blas: insufficient length of b", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, 3, 1, f(6), 3, f(5), 2, 0, f(4), 2) }},
		{"short b (Trans)", "blas: insufficient length of b", func(b blas.Float32) { b.Sgemm(N, T, 2, 2, 3, 1, f(6), 3, f(5), 3, 0, f(4), 2) }},
		{"short b before short c", "blas: insufficient length of b", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, 3, 1, f(6), 3, f(5), 2, 0, f(1), 2) }},
		{"short c", "blas: insufficient length of c", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, 3, 1, f(6), 3, f(6), 2, 0, f(3), 2) }},
		{"short c, padded ldc", "blas: insufficient length of c", func(b blas.Float32) { b.Sgemm(N, N, 2, 2, 3, 1, f(6), 3, f(6), 2, 0, f(5), 4) }},
		{"exact lengths", "", func(b blas.Float32) { b.Sgemm(T, T, 2, 3, 4, 1, f(3*3+2), 3, f(2*5+4), 5, 1, f(6+3), 6) }},

		{"Saxpy incX=0", "blas: zero x index increment", func(b blas.Float32) { b.Saxpy(2, 1, f(2), 0, f(2), 0) }},
		{"Saxpy incY=0", "blas: zero y index increment", func(b blas.Float32) { b.Saxpy(2, 1, f(2), 1, f(2), 0) }},
		{"Saxpy n<0", "blas: n < 0", func(b blas.Float32) { b.Saxpy(-1, 1, f(2), 1, f(2), 1) }},
		{"Saxpy n=0, empty", "", func(b blas.Float32) { b.Saxpy(0, 1, nil, 1, nil, 1) }},
		{"Saxpy short x", "blas: insufficient length of x", func(b blas.Float32) { b.Saxpy(3, 1, f(2), 1, f(1), 1) }},
		{"Saxpy short y", "blas: insufficient length of y", func(b blas.Float32) { b.Saxpy(3, 1, f(3), 1, f(2), 1) }},
		{"Saxpy short x, alpha 0", "blas: insufficient length of x", func(b blas.Float32) { b.Saxpy(3, 0, f(2), 1, f(3), 1) }},
		{"Saxpy short x, incX 2", "blas: insufficient length of x", func(b blas.Float32) { b.Saxpy(3, 1, f(4), 2, f(3), 1) }},
		{"Sscal incX=0", "blas: zero x index increment", func(b blas.Float32) { b.Sscal(2, 2, f(2), 0) }},
		{"Sscal incX<0 is a no-op", "", func(b blas.Float32) { b.Sscal(-1, 2, nil, -1) }},
		{"Sscal n<0", "blas: n < 0", func(b blas.Float32) { b.Sscal(-1, 2, f(2), 1) }},
		{"Sscal short x", "blas: insufficient length of x", func(b blas.Float32) { b.Sscal(3, 2, f(2), 1) }},
		{"Sscal short x, alpha 0", "blas: insufficient length of x", func(b blas.Float32) { b.Sscal(3, 0, f(2), 1) }},
		{"Sdot incX=0", "blas: zero x index increment", func(b blas.Float32) { b.Sdot(2, f(2), 0, f(2), 0) }},
		{"Sdot incY=0", "blas: zero y index increment", func(b blas.Float32) { b.Sdot(2, f(2), 1, f(2), 0) }},
		{"Sdot n<0", "blas: n < 0", func(b blas.Float32) { b.Sdot(-1, f(2), 1, f(2), 1) }},
		{"Sdot short x", "blas: insufficient length of x", func(b blas.Float32) { b.Sdot(3, f(2), 1, f(1), 1) }},
		{"Sdot short y", "blas: insufficient length of y", func(b blas.Float32) { b.Sdot(3, f(3), 1, f(2), 1) }},
	}
	panicOf := func(c call, impl blas.Float32) (msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
				if msg == "" {
					msg = "(empty panic)"
				}
			}
		}()
		c(impl)
		return ""
	}
	forEachLevel(t, func(t *testing.T) {
		for _, c := range cases {
			got, ref := panicOf(c.call, BLAS), panicOf(c.call, gonum.Implementation{})
			if got != c.want || ref != c.want {
				t.Errorf("%s: BLAS panics %q, Gonum %q, want %q", c.name, got, ref, c.want)
			}
		}
	})
}
