package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, with
// BLAS semantics: op(A) is m×k (A is m×k with row stride lda, or k×m when
// transA), op(B) is k×n (B is k×n with row stride ldb, or n×k when transB),
// C is m×n with row stride ldc. beta == 0 overwrites C even when it holds
// NaN; alpha == 0 or k == 0 leaves C = beta·C. It panics on negative sizes,
// too-small leading dimensions or too-short slices. Large products use all
// of GOMAXPROCS; the call allocates nothing once warmed up.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false, nil)
}

// sgemm is Sgemm, SgemmSerial and SgemmSerialPrefetch: serial keeps the
// whole product on the calling goroutine, next is the caller's buffer to
// prefetch (nil: none).
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, serial bool, next []float32) {
	rowsA, colsA := stored(transA, m, k)
	rowsB, colsB := stored(transB, k, n)
	checkShape(m, n, k)
	checkMatrix("a", rowsA, colsA, a, lda)
	checkMatrix("b", rowsB, colsB, b, ldb)
	checkMatrix("c", m, n, c, ldc)
	runGemm(gemmArgs{lv: active.Load(), transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, serial: serial,
		next: linesOf(next)})
}

// RowSource supplies the rows of a virtual m×k matrix A that is never
// materialised, such as the im2col patch matrix of a convolution: it writes
// A[i, p0:p0+kc] into dst[0:kc] (len(dst) == kc). SgemmRows calls it from
// several goroutines at once, each with its own dst, so it must be safe for
// concurrent use (reading shared inputs is fine). It must not itself call
// Sgemm or SgemmRows: it runs on the shared worker goroutines, and a nested
// call could wait for a worker that is busy running it.
type RowSource func(dst []float32, i, p0, kc int)

// SgemmSerialPrefetch is SgemmSerial that also prefetches next, a buffer
// the caller reads right after this product, into L2 while it computes:
// its cache lines are spread over the micro-kernel calls, a few per call,
// so that the caller's next pass finds them in L2 instead of memory. It
// changes no result; next may be nil or of any length (the product has a
// bounded number of prefetch slots, about kc/2 lines per micro-kernel
// call, and lines past them are not prefetched).
func SgemmSerialPrefetch(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, next []float32) {
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true, next)
}

// linesOf returns the cache lines of x as one row (nothing for an empty x).
func linesOf(x []float32) panelLines {
	if len(x) == 0 {
		return panelLines{}
	}
	addr := uintptr(unsafe.Pointer(&x[0]))
	start := addr &^ 63
	lines := int((addr + uintptr(len(x))*4 - start + 63) / 64)
	return panelLines{start: start, lines: lines, rows: 1, stride: lines * 64}
}

// SgemmRows computes C = alpha·A·B + beta·C (B k×n row-major with stride ldb,
// C m×n with stride ldc) where A (m×k) comes from rows: each slice of A is
// written by rows straight into the packing buffer of the worker that needs
// it, so the extra memory is bounded by the packing buffers whatever m is.
// Semantics otherwise as Sgemm.
func SgemmRows(m, n, k int, alpha float32, rows RowSource, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkShape(m, n, k)
	checkMatrix("b", k, n, b, ldb)
	checkMatrix("c", m, n, c, ldc)
	runGemm(gemmArgs{lv: active.Load(), m: m, n: n, k: k, alpha: alpha, rows: rows,
		b: b, ldb: ldb, beta: beta, c: c, ldc: ldc})
}

// SgemmRowsBiasReLU computes C = A·B + bias, then C = max(C, 0) when relu,
// with A (m×k) from rows as in SgemmRows, B k×n (stride ldb), C m×n (stride
// ldc) overwritten (its old content, NaN included, is ignored). bias is nil
// (no bias) or holds n floats added to every row. Bias and ReLU are applied
// by the micro-kernel on its last k pass, while the tile is in registers, so
// they cost no extra sweep over C. This is a convolution layer's forward
// pass: rows = im2col patches (m = N·OH·OW, k = KH·KW·Cin), B = kernel
// (k × Cout).
func SgemmRowsBiasReLU(m, n, k int, rows RowSource, b []float32, ldb int, bias []float32, relu bool, c []float32, ldc int) {
	checkShape(m, n, k)
	checkMatrix("b", k, n, b, ldb)
	checkMatrix("c", m, n, c, ldc)
	if bias != nil && len(bias) < n {
		panic(fmt.Sprintf("kernels: len(bias) = %d < n = %d", len(bias), n))
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				v := float32(0)
				if bias != nil {
					v = bias[j]
				}
				if relu && !(v > 0) {
					v = 0
				}
				row[j] = v
			}
		}
		return
	}
	j := getJob()
	j.gemmArgs = gemmArgs{lv: active.Load(), m: m, n: n, k: k, alpha: 1, rows: rows,
		b: b, ldb: ldb, beta: 0, c: c, ldc: ldc, bias: bias, relu: relu}
	j.run()
	j.release()
}

// SgemmTransARows computes C = alpha·Aᵀ·R + beta·C, where A is stored k×m
// (row stride lda, so op(A) = Aᵀ is m×k), R is a virtual k×n matrix whose
// rows come from rows (rows(dst, p, j0, nc) writes R[p, j0:j0+nc]), and C is
// m×n (stride ldc). R's rows are written straight into the B packing
// buffers, so, as with SgemmRows, R is never materialised. Semantics
// otherwise as Sgemm.
//
// This is a convolution's kernel gradient computed transposed: with
// R = im2col patches (k = N·OH·OW pixels, n = KH·KW·Cin) and A = dY
// (pixels × Cout), C = dYᵀ·patches = dKernelᵀ (Cout × KH·KW·Cin); the
// reduction runs over the pixels, the long dimension, while the small
// output stays in place.
func SgemmTransARows(m, n, k int, alpha float32, a []float32, lda int, rows RowSource, beta float32, c []float32, ldc int) {
	sgemmTransARows(m, n, k, alpha, a, lda, rows, beta, c, ldc, false)
}

// SgemmTransARowsSerial is SgemmTransARows on the calling goroutine only (no
// worker goroutines), for callers that split the reduction over the pixels
// across the cores themselves (each core then packs only its own rows of R
// and of A, instead of every core packing all of A).
func SgemmTransARowsSerial(m, n, k int, alpha float32, a []float32, lda int, rows RowSource, beta float32, c []float32, ldc int) {
	sgemmTransARows(m, n, k, alpha, a, lda, rows, beta, c, ldc, true)
}

// SgemmSerialOverlap is SgemmSerial (transB false) for operands whose
// rows may overlap: A (m×k, or k×m when transA) and B (k×n) may have a row
// stride smaller than their row length, row p of B being
// b[p·ldb : p·ldb+n] (likewise A with lda). That is the im2col matrix of a
// stride-1 convolution seen in place: in an NHWC image with C channels,
// the patch rows of consecutive output pixels along one kernel row are C
// floats apart (a Toeplitz view of the image), so a conv's dKernel can read
// them straight from its input instead of building patch rows. The
// micro-kernels read such operands in place where the level can: a
// transposed A by the p-major kernel (each k step's MR floats contiguous),
// B by the in-place-B kernel (AVX-512, rows on cache lines: ldb a multiple
// of 16, b 64-byte aligned); otherwise they are packed as usual (packing
// reads rows at their stride, so overlap needs nothing special).
// Semantics otherwise as Sgemm; C must not overlap A or B.
func SgemmSerialOverlap(transA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	rowsA, colsA := stored(transA, m, k)
	checkShape(m, n, k)
	checkOverlapping("a", rowsA, colsA, a, lda)
	checkOverlapping("b", k, n, b, ldb)
	checkMatrix("c", m, n, c, ldc)
	runGemm(gemmArgs{lv: active.Load(), transA: transA, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
		b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, serial: true, overlap: true})
}

// checkOverlapping panics unless x can hold rows rows of cols floats, ld
// floats apart (ld ≥ 1; the rows may overlap).
func checkOverlapping(name string, rows, cols int, x []float32, ld int) {
	if ld < 1 {
		panic(fmt.Sprintf("kernels: ld%s = %d < 1", name, ld))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: len(%s) = %d < %d for %d rows of %d with stride %d", name, len(x), (rows-1)*ld+cols, rows, cols, ld))
	}
}

func sgemmTransARows(m, n, k int, alpha float32, a []float32, lda int, rows RowSource, beta float32, c []float32, ldc int, serial bool) {
	checkShape(m, n, k)
	checkMatrix("a", k, m, a, lda)
	checkMatrix("c", m, n, c, ldc)
	runGemm(gemmArgs{lv: active.Load(), transA: true, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
		rowsB: rows, beta: beta, c: c, ldc: ldc, serial: serial})
}

// runGemm runs g after BLAS's quick returns, shared by every entry point
// without an epilogue: nothing to do when C is empty, and C = beta·C (A and
// B not read) when alpha or k is 0.
func runGemm(g gemmArgs) {
	if g.m == 0 || g.n == 0 {
		return
	}
	if g.alpha == 0 || g.k == 0 {
		scaleC(g.m, g.n, g.beta, g.c, g.ldc)
		return
	}
	j := getJob()
	j.gemmArgs = g
	j.run()
	j.release()
}

// stored returns the rows and columns of an operand as stored: r×c, or c×r
// when it is transposed.
func stored(trans bool, r, c int) (rows, cols int) {
	if trans {
		return c, r
	}
	return r, c
}

func checkShape(m, n, k int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: negative size m=%d n=%d k=%d", m, n, k))
	}
}

// checkMatrix panics unless x can hold a rows×cols row-major matrix with row
// stride ld.
func checkMatrix(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: ld%s = %d < max(1, %d)", name, ld, cols))
	}
	checkOverlapping(name, rows, cols, x, ld)
}

// scaleC sets C = beta·C (C = 0 when beta == 0, NaN included).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmJob is one Sgemm/SgemmRows call, shared read-only by its workers.
type gemmJob struct {
	gemmArgs
	wg sync.WaitGroup // counts the parts still running on pool workers
}

// gemmArgs are the arguments of one call.
type gemmArgs struct {
	lv             *kernelLevel
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	rows           RowSource // when non-nil A comes from rows (not transposed)
	rowsB          RowSource // when non-nil B comes from rows (not transposed; b unused)
	seg            Segments  // when non-nil A is a Segments matrix (blockSegments)
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
	bias           []float32  // nil or n floats, added on the last k pass
	relu           bool       // clamp C at zero on the last k pass
	mask           []uint16   // nil, or C > 0 as bits after the last pass (m×n, row-major, n%16 == 0)
	pb             *PackedB   // when non-nil B is pre-packed (b unused)
	next           panelLines // lines to prefetch into L2 for the caller (SgemmSerialPrefetch)
	serial         bool       // run on the calling goroutine only
	overlap        bool       // A's and B's rows may overlap (SgemmSerialOverlap): read in place where the level can
}

// jobs is a free list of gemmJobs (not a sync.Pool, which the GC empties:
// steady-state calls must not allocate).
var jobs struct {
	sync.Mutex
	free []*gemmJob
}

func getJob() *gemmJob {
	jobs.Lock()
	defer jobs.Unlock()
	if n := len(jobs.free); n > 0 {
		j := jobs.free[n-1]
		jobs.free = jobs.free[:n-1]
		return j
	}
	return new(gemmJob)
}

// release returns the job to the free list, dropping its references to the
// caller's slices.
func (j *gemmJob) release() {
	j.gemmArgs = gemmArgs{}
	jobs.Lock()
	jobs.free = append(jobs.free, j)
	jobs.Unlock()
}
