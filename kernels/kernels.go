// Package kernels holds gotransfer's hand-written compute: SGEMM and the
// small vector kernels the layers need.
//
// PLACEHOLDER: this file is a correct but slow gonum-backed stand-in that fixes
// the API so the other packages can build; the kernels work replaces it.
package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

var impl gonum.Implementation

// Level reports the active kernel level: "avx512", "avx2" or "generic".
func Level() string { return "generic" }

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, with
// BLAS semantics: op(A) is m×k, op(B) is k×n, C is m×n; beta == 0 overwrites C
// even when it holds NaN.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if beta == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
	}
	if k == 0 || alpha == 0 {
		if beta != 0 && beta != 1 {
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					c[i*ldc+j] *= beta
				}
			}
		}
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// RowSource supplies the rows of a virtual m×k matrix A that is never
// materialised, such as the im2col patch matrix of a convolution: it writes
// A[i, p0:p0+kc] into dst[0:kc].
type RowSource func(dst []float32, i, p0, kc int)

// SgemmRows computes C = alpha·A·B + beta·C (B k×n row-major, C m×n) where A
// comes from rows; extra memory is bounded by the packing buffers.
func SgemmRows(m, n, k int, alpha float32, rows RowSource, b []float32, ldb int, beta float32, c []float32, ldc int) {
	const tile = 64
	buf := make([]float32, tile*k)
	for i0 := 0; i0 < m; i0 += tile {
		mr := min(tile, m-i0)
		for i := 0; i < mr; i++ {
			rows(buf[i*k:(i+1)*k], i0+i, 0, k)
		}
		Sgemm(false, false, mr, n, k, alpha, buf, k, b, ldb, beta, c[i0*ldc:], ldc)
	}
}
