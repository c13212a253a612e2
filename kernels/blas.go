package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS is gotransfer's kernels behind Gonum's BLAS interface: it implements
// blas.Float32 (gonum.org/v1/gonum/blas), so that
//
//	blas32.Use(kernels.BLAS)
//
// makes every blas32 call of a Gonum program (blas32.Gemm, and through it
// the float32 code built on blas32) run Sgemm on the active kernel level.
var BLAS Implementation

// Implementation is the type of BLAS. The routines the kernels accelerate
// run on them: Sgemm (any transposes, on the packed, parallel Sgemm of this
// package), and Saxpy, Sscal and Sdot on unit increments (Axpy, Scale and
// Dot). Every other routine, and the cases above that the kernels do not
// cover (non-unit increments, Sscal with alpha = 0), is Gonum's own
// implementation, embedded.
//
// Arguments are checked exactly as Gonum checks them, in the same order,
// and a bad argument panics with Gonum's message (such as "blas: bad
// leading dimension of A"). Results equal Gonum's up to float32 rounding
// (the sums run in another order); one more difference is that Gonum's
// Sgemm skips the terms whose A element times alpha is zero, so a zero
// there times an Inf or NaN in B gives NaN here and not in Gonum (the
// reference BLAS skips zeros of B likewise).
type Implementation struct {
	gonum.Implementation
}

// Implementation must satisfy Gonum's float32 BLAS interface.
var _ blas.Float32 = Implementation{}

// Panic messages: Gonum's (gonum.org/v1/gonum/blas/gonum, errors.go), which
// are unexported there. Calls that can only fail in other ways (zero
// increments, negative n) go to Gonum's implementation, which panics itself.
const (
	blasMLT0     = "blas: m < 0"
	blasNLT0     = "blas: n < 0"
	blasKLT0     = "blas: k < 0"
	blasBadTrans = "blas: illegal transpose"
	blasBadLdA   = "blas: bad leading dimension of A"
	blasBadLdB   = "blas: bad leading dimension of B"
	blasBadLdC   = "blas: bad leading dimension of C"
	blasShortX   = "blas: insufficient length of x"
	blasShortY   = "blas: insufficient length of y"
	blasShortA   = "blas: insufficient length of a"
	blasShortB   = "blas: insufficient length of b"
	blasShortC   = "blas: insufficient length of c"
)

// Sgemm computes
//
//	C = alpha·op(A)·op(B) + beta·C
//
// on row-major matrices (blas.Float32's convention): op(X) is X, or Xᵀ for
// blas.Trans and blas.ConjTrans; op(A) is m×k, op(B) is k×n, C is m×n, with
// row strides lda, ldb and ldc. beta = 0 overwrites C, NaN included. It
// runs on the package's Sgemm (all of GOMAXPROCS for large products).
func (Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// The checks below are Gonum's Sgemm's, in its order.
	aTrans, ok := isTrans(tA)
	if !ok {
		panic(blasBadTrans)
	}
	bTrans, ok := isTrans(tB)
	if !ok {
		panic(blasBadTrans)
	}
	switch {
	case m < 0:
		panic(blasMLT0)
	case n < 0:
		panic(blasNLT0)
	case k < 0:
		panic(blasKLT0)
	}
	_, colsA := stored(aTrans, m, k)
	rowsB, colsB := stored(bTrans, k, n)
	if lda < max(1, colsA) {
		panic(blasBadLdA)
	}
	if ldb < max(1, colsB) {
		panic(blasBadLdB)
	}
	if ldc < max(1, n) {
		panic(blasBadLdC)
	}
	if m == 0 || n == 0 {
		return
	}
	// Gonum's length checks, with m, n > 0: (rows-1)·ld + cols floats.
	rowsA, _ := stored(aTrans, m, k)
	if len(a) < (rowsA-1)*lda+colsA {
		panic(blasShortA)
	}
	if len(b) < (rowsB-1)*ldb+colsB {
		panic(blasShortB)
	}
	if len(c) < (m-1)*ldc+n {
		panic(blasShortC)
	}
	// Sgemm's own checks are the same conditions: they cannot fire now.
	Sgemm(aTrans, bTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// isTrans reports whether t transposes its operand, and whether t is a
// valid blas.Transpose at all.
func isTrans(t blas.Transpose) (trans, ok bool) {
	switch t {
	case blas.NoTrans:
		return false, true
	case blas.Trans, blas.ConjTrans:
		return true, true
	}
	return false, false
}

// Saxpy computes y[i·incY] += alpha·x[i·incX] for i < n. Unit increments
// run on Axpy; other increments are Gonum's.
func (impl Implementation) Saxpy(n int, alpha float32, x []float32, incX int, y []float32, incY int) {
	if incX != 1 || incY != 1 || n <= 0 {
		impl.Implementation.Saxpy(n, alpha, x, incX, y, incY)
		return
	}
	// Gonum's checks for unit increments and n ≥ 1.
	if len(x) <= n-1 {
		panic(blasShortX)
	}
	if len(y) <= n-1 {
		panic(blasShortY)
	}
	if alpha == 0 {
		return
	}
	Axpy(alpha, x[:n], y[:n])
}

// Sscal computes x[i·incX] *= alpha for i < n. A unit increment with
// alpha ≠ 0 runs on Scale; the rest is Gonum's (alpha = 0 stores zeros,
// NaN included, where multiplying would keep the NaN).
func (impl Implementation) Sscal(n int, alpha float32, x []float32, incX int) {
	if incX != 1 || n <= 0 || alpha == 0 {
		impl.Implementation.Sscal(n, alpha, x, incX)
		return
	}
	// Gonum's check for incX = 1 and n ≥ 1.
	if n-1 >= len(x) {
		panic(blasShortX)
	}
	Scale(alpha, x[:n])
}

// Sdot returns Σ x[i·incX]·y[i·incY] for i < n, accumulated in float32.
// Unit increments run on Dot; other increments are Gonum's.
func (impl Implementation) Sdot(n int, x []float32, incX int, y []float32, incY int) float32 {
	if incX != 1 || incY != 1 || n <= 0 {
		return impl.Implementation.Sdot(n, x, incX, y, incY)
	}
	// Gonum's checks for unit increments and n ≥ 1.
	if len(x) < n {
		panic(blasShortX)
	}
	if len(y) < n {
		panic(blasShortY)
	}
	return Dot(x[:n], y[:n])
}
