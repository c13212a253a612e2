package nn

import (
	"sync"

	"github.com/gotransfer/gotransfer/kernels"
)

// Small patch matrices (few output pixels, long patches: VGG's block5 at
// 14x14, M = 196, K = 4608, cout = 512) are materialised whole for the
// forward GEMM instead of being packed through a RowSource. With n = cout >
// m = M the GEMM splits its columns across the cores, so through a
// RowSource every core gathers and packs the whole patch matrix (M·K
// floats, 3.6 MB each for block5); materialised once, in parallel (each
// core gathering its own rows), the GEMM reads A's micro-panels in place
// like plain SGEMM:
//
//	A[r, (i·kw + j)·C + c] = x[n, oh·sh − pt + i·dh, ow·sw − pl + j·dw, c]   (patches.rows)
//	y = A · kernel,  then y[r, :] += bias and max(·, 0) in one sweep over y (M × cout, in L2).
//
// The matrix is bounded by materialMaxPatch floats whatever the batch:
// larger patch matrices have M > cout in practice (batch > 1, or larger
// images), where the GEMM splits the rows and each core packs only its own.

// materialMaxPatch is the largest patch matrix (M·K floats, 4 MB) that
// Forward materialises (a variable so that tests can turn the path off).
var materialMaxPatch = 1 << 20

// materialPays reports whether Forward materialises the patch matrix.
func materialPays(M, K int) bool { return M*K <= materialMaxPatch }

// patchFill is the rangeBody that writes rows [lo, hi) of the patch matrix
// g into mat (M × K), one contiguous share of the rows per core.
type patchFill struct {
	g   patches
	mat []float32
	K   int
	wg  sync.WaitGroup
}

func (f *patchFill) runRange(_, lo, hi int) {
	K := f.K
	for r := lo; r < hi; r++ {
		f.g.rows(f.mat[r*K:(r+1)*K], r, 0, K)
	}
}

// materialForward computes y = A·kernel (+ bias, ReLU) for the M × K patch
// matrix A of x, built whole in c.mat.
func (c *Conv2D) materialForward(x, y []float32, H, W, M int, gh, gw axisGeom, bias []float32) {
	K := c.kh * c.kw * c.cin
	c.mat = ensure(c.mat, M*K)
	f := &c.matFill
	f.g, f.mat, f.K = *c.patchesOf(x, H, W, gh, gw), c.mat, K
	if M*K < 1<<15 {
		f.runRange(0, 0, M) // small: not worth waking the other cores
	} else {
		parallelRange(M, f, &f.wg)
	}
	f.g.src, f.mat = nil, nil
	kernels.Sgemm(false, false, M, c.cout, K, 1, c.mat, K, c.Kernel.Value.Data, c.cout, 0, y, c.cout)
	biasReLU(y, bias, c.cout, c.opt.ReLU)
}
