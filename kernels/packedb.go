package kernels

import (
	"fmt"
	"unsafe"
)

// PackedB is a k×n matrix op(B) packed once, in the micro-kernel's layout,
// for callers that multiply many A matrices by the same B (a layer's weights,
// Winograd's transformed kernels). SgemmPackedB then skips the B packing
// that Sgemm redoes on every call, and its workers share one copy instead of
// packing their own.
//
// Layout (NR = the level's micro-tile width, npad = n rounded up to NR):
// k is cut into slices of kc rows (the driver's k blocking, a function of k
// and the level only); slice s starts at float s·kc·npad and holds npad/NR
// micro-panels of kcur×NR floats (kcur = the slice's rows), micro-panel q at
// q·kcur·NR, element (p, j) at p·NR + j holding op(B)[s·kc+p, q·NR+j];
// columns past n are zero.
//
// The layout belongs to the kernel level active when the matrix was packed
// (PackB or Init); SgemmPackedB keeps using that level even after SetLevel.
// The zero value is empty; PackB and Init reuse its buffer when it is large
// enough, so repacking a same-sized matrix allocates nothing.
type PackedB struct {
	lv      *kernelLevel
	k, n    int
	kc      int       // rows per k slice
	npad    int       // n rounded up to the level's NR
	data    []float32 // k·npad floats, 64-byte aligned
	backing []float32 // the allocation data lives in
}

// K and N return the packed matrix's shape (rows k, columns n of op(B)).
func (pb *PackedB) K() int { return pb.k }

// N returns the number of columns of op(B).
func (pb *PackedB) N() int { return pb.n }

// Bytes is the memory the packed matrix holds (its buffer's capacity).
func (pb *PackedB) Bytes() int { return 4 * cap(pb.backing) }

// Init sizes pb for a k×n matrix in the active level's layout; rows are
// then filled with SetRow (every row must be set). The padding columns are
// zero. When pb already has this shape and level, Init keeps the buffer
// as it is (stale rows until set), so re-initialising costs nothing.
// PackB calls it.
func (pb *PackedB) Init(k, n int) {
	checkShape(0, n, k)
	lv := active.Load()
	if pb.lv == lv && pb.k == k && pb.n == n {
		return
	}
	kc, _ := lv.blockSizes(max(n, 1), max(k, 1))
	npad := roundUp(max(n, 1), lv.nr)
	size := k * npad
	if cap(pb.backing) < size+16 {
		pb.backing = make([]float32, size+16)
	}
	pb.backing = pb.backing[:cap(pb.backing)]
	off := 0
	if r := uintptr(unsafe.Pointer(&pb.backing[0])) & 63; r != 0 {
		off = int(64-r) / 4
	}
	pb.data = pb.backing[off : off+size : off+size]
	clear(pb.data)
	pb.lv, pb.k, pb.n, pb.kc, pb.npad = lv, k, n, kc, npad
}

// SetRow stores row p of op(B) (n floats) into the packed layout. Different
// rows may be set from different goroutines at once.
func (pb *PackedB) SetRow(p int, row []float32) {
	if p < 0 || p >= pb.k || len(row) < pb.n {
		panic(fmt.Sprintf("kernels: PackedB.SetRow(%d, %d floats) on a %d×%d matrix", p, len(row), pb.k, pb.n))
	}
	nr := pb.lv.nr
	s := p / pb.kc
	kcur := min(pb.kc, pb.k-s*pb.kc)
	base := s*pb.kc*pb.npad + (p-s*pb.kc)*nr
	for q := 0; q < pb.n; q += nr {
		copy(pb.data[base+q*kcur:base+q*kcur+nr], row[q:min(q+nr, pb.n)])
	}
}

// PanelWidth is the width NR of the packed column panels (the kernel
// level's micro-tile width): RowPanel hands out rows in pieces of NR.
func (pb *PackedB) PanelWidth() int { return pb.lv.nr }

// RowPanel returns row p, columns [q·NR, q·NR+NR) of the packed matrix: NR
// floats, contiguous, where columns past n are padding that must stay zero.
// Writing rows panel by panel in the order (q, then p) touches the buffer
// sequentially, unlike SetRow's scattered writes of whole rows.
func (pb *PackedB) RowPanel(p, q int) []float32 {
	nr := pb.lv.nr
	if p < 0 || p >= pb.k || q < 0 || q*nr >= pb.npad {
		panic(fmt.Sprintf("kernels: PackedB.RowPanel(%d, %d) on a %d×%d matrix", p, q, pb.k, pb.n))
	}
	s := p / pb.kc
	kcur := min(pb.kc, pb.k-s*pb.kc)
	off := s*pb.kc*pb.npad + q*nr*kcur + (p-s*pb.kc)*nr
	return pb.data[off : off+nr : off+nr]
}

// SliceRows is the number of rows kc in each k slice of the layout: rows
// p and p+1 of one column panel are adjacent (NR floats apart) unless p+1
// starts a new slice (a multiple of SliceRows).
func (pb *PackedB) SliceRows() int { return pb.kc }

// RowPanels returns rows [p, p+rows) of column panel q (columns [q·NR,
// q·NR+NR)) as one slice of rows·NR floats, row p+r at r·NR; the rows must
// lie in one k slice (see SliceRows). Columns past n are padding that must
// stay zero.
func (pb *PackedB) RowPanels(p, rows, q int) []float32 {
	nr := pb.lv.nr
	s := p / pb.kc
	if p < 0 || rows < 1 || p+rows > min(pb.k, (s+1)*pb.kc) || q < 0 || q*nr >= pb.npad {
		panic(fmt.Sprintf("kernels: PackedB.RowPanels(%d, %d, %d) on a %d×%d matrix with %d-row slices", p, rows, q, pb.k, pb.n, pb.kc))
	}
	kcur := min(pb.kc, pb.k-s*pb.kc)
	off := s*pb.kc*pb.npad + q*nr*kcur + (p-s*pb.kc)*nr
	return pb.data[off : off+rows*nr : off+rows*nr]
}

// PackB packs op(B) (k×n: B is k×n with row stride ldb, or n×k when transB)
// into dst for SgemmPackedB, with the active level's layout.
func PackB(transB bool, k, n int, b []float32, ldb int, dst *PackedB) {
	rowsB, colsB := stored(transB, k, n)
	checkShape(0, n, k)
	checkMatrix("b", rowsB, colsB, b, ldb)
	dst.Init(k, n)
	if k == 0 || n == 0 {
		return
	}
	j := gemmJob{gemmArgs: gemmArgs{lv: dst.lv, transB: transB, n: n, k: k, b: b, ldb: ldb}}
	for pc := 0; pc < k; pc += dst.kc {
		kcur := min(dst.kc, k-pc)
		j.packB(dst.data[pc*dst.npad:], pc, kcur, 0, n, dst.lv.nr)
	}
}

// SgemmPackedB computes C = alpha·op(A)·B + beta·C with B pre-packed by
// PackB (or Init + SetRow); m, n, k, A, C and the semantics as Sgemm, and
// n, k must match pb. It splits along M over GOMAXPROCS workers, all
// reading the one packed B.
func SgemmPackedB(transA bool, m, n, k int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	sgemmPacked(transA, m, n, k, alpha, a, lda, pb, beta, c, ldc, false)
}

// SgemmPackedBSerial is SgemmPackedB on the calling goroutine only, for
// callers that already run one GEMM per core.
func SgemmPackedBSerial(transA bool, m, n, k int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	sgemmPacked(transA, m, n, k, alpha, a, lda, pb, beta, c, ldc, true)
}

func sgemmPacked(transA bool, m, n, k int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int, serial bool) {
	if pb == nil || pb.lv == nil || pb.k != k || pb.n != n {
		pk, pn := -1, -1
		if pb != nil && pb.lv != nil {
			pk, pn = pb.k, pb.n
		}
		panic(fmt.Sprintf("kernels: SgemmPackedB k=%d n=%d, but the packed B is %d×%d", k, n, pk, pn))
	}
	rowsA, colsA := stored(transA, m, k)
	checkShape(m, n, k)
	checkMatrix("a", rowsA, colsA, a, lda)
	checkMatrix("c", m, n, c, ldc)
	runGemm(gemmArgs{lv: pb.lv, transA: transA, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, pb: pb, beta: beta, c: c, ldc: ldc, serial: serial})
}

// SgemmSerial is Sgemm on the calling goroutine only (no worker goroutines),
// for callers that already run one GEMM per core.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true, nil)
}

// packedPanelLines returns the packed-B lines of the panel after (jc, pc)
// (next k slice, or the first slice of the next column block) as one
// contiguous run, for prefetching into L2 while the current panel runs.
func (j *gemmJob) packedPanelLines(jc, ncur, pc, kcur, kc, nc, n1 int) panelLines {
	pb := j.pb
	jc, ncur, pc, kcur, ok := j.nextBPanel(jc, ncur, pc, kcur, kc, nc, n1)
	if !ok {
		return panelLines{}
	}
	addr := uintptr(unsafe.Pointer(&pb.data[pc*pb.npad+jc*kcur]))
	lines := (kcur*roundUp(ncur, j.lv.nr)*4 + 63) / 64
	return panelLines{start: addr &^ 63, lines: lines, rows: 1, stride: lines * 64}
}
