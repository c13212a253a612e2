package kernels

import "unsafe"

// The blocked SGEMM driver (GotoBLAS/BLIS loop nest) for one worker's block
// of C, rows [m0,m1) × columns [n0,n1):
//
//	for jc in n0..n1 step nc:              B panel kc×nc, packed, stays in L2
//	  for pc in 0..k step kc:
//	    pack B[pc:pc+kc, jc:jc+nc]         → nc/NR micro-panels of kc×NR
//	    for ir in m0..m1 step MR:
//	      pack A[ir:ir+MR, pc:pc+kc]       → MR rows × kc, stays in L1
//	      for jr in 0..nc step NR:
//	        micro-kernel: C[ir:ir+MR, jc+jr:+NR] (+)= A-panel · B-micro-panel
//
// When A is not transposed, alpha == 1 and its row stride spreads the rows
// over the L1 sets, full micro-panels are read in place (see directA) and
// only edge panels are packed.
// The A micro-panel (MR·kc floats) is reused from L1 across the nc/NR
// kernel calls; the B panel (kc·nc floats) is reused from L2 across the
// (m1-m0)/MR A micro-panels. The first k pass applies beta (or ignores C when
// beta == 0), later passes accumulate, and the last pass adds bias and ReLU.
// Partial tiles on the right and bottom edges run the same full-size kernel
// on zero-padded panels into a scratch tile, then copy the valid part.
// Each kernel call is one MR×NR tile × kc ≤ kcMax: a bounded, short
// assembly call the Go scheduler and GC can wait for.

// blockSizes returns the k slice kc and the column block nc for a block of
// n columns of a k-deep product.
func (lv *kernelLevel) blockSizes(n, k int) (kc, nc int) {
	passes := (k + lv.kcMax - 1) / lv.kcMax
	kc = roundUp((k+passes-1)/passes, 4)
	kc = min(kc, lv.kcMax)
	ncMax := max(lv.nr, lv.bPanel/kc/lv.nr*lv.nr)
	blocks := (n + ncMax - 1) / ncMax
	nc = min(roundUp((n+blocks-1)/blocks, lv.nr), ncMax)
	return kc, nc
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// block computes C[m0:m1, n0:n1] of the job with the buffers of ar.
func (j *gemmJob) block(m0, m1, n0, n1 int, ar *arena) {
	if j.seg != nil {
		j.blockSegments(m0, m1, n0, n1, ar)
		return
	}
	lv := j.lv
	mr, nr := lv.mr, lv.nr
	kc, nc := lv.blockSizes(n1-n0, j.k)
	if full := roundUp(n1-n0, nr); j.rowsB != nil && nc < full {
		// A RowSource B is rebuilt row by row, and A repacked, for every
		// column block: take all columns in one block with a shorter kc
		// when kc stays long enough for the micro-kernel (conv dKernelᵀ,
		// n = 576: kc 576 -> 448).
		if kcFit := lv.bPanel / full / 4 * 4; kcFit >= 256 {
			kc, nc = min(kc, kcFit), full
		}
	}
	if j.pb != nil {
		kc = j.pb.kc
		nc = min(nc, roundUp(n1-n0, nr)) // no packing buffer needed: any width
	}
	ar.ensure(lv, kc, nc)
	direct := j.directA()
	inPlaceB := j.directB(m1-m0, n1-n0, kc, nc)
	kernel, kernelDB := lv.kernel, lv.kernelDB
	pMajor := j.transA && lv.kernelP != nil
	if pMajor {
		kernel, kernelDB = lv.kernelP, lv.kernelPDB // A micro-panels p-major (packA, or in place)
	}
	// A transposed A whose rows are short (k×m with m ≤ 2·MR, e.g. the
	// 28-wide patch tiles of a thin convolution's dKernel) is read in place
	// by the p-major kernel: each k step's MR floats are contiguous and the
	// steps lda floats apart, so packing would only copy it.
	//
	// So is a transposed A whose rows overlap (SgemmSerialOverlap: a conv's
	// patches seen in place in its input), which packing would copy many
	// times over.
	directT := pMajor && j.alpha == 1 && j.rows == nil && (j.lda <= 2*mr || j.overlap)
	// the caller's buffer to prefetch, spread over every kernel call of the block
	ar.shN.start(j.next, ((m1-m0+mr-1)/mr)*((n1-n0+nr-1)/nr)*((j.k+kc-1)/kc))
	usePrefetchN := j.next.lines > 0
	ar.aux.pf = [4]prefetchPlan{} // no plan left over from another job
	for jc := n0; jc < n1; jc += nc {
		ncur := min(nc, n1-jc)
		for pc := 0; pc < j.k; pc += kc {
			kcur := min(kc, j.k-pc)
			bpanel := ar.b
			var nextB panelLines
			if j.pb != nil {
				bpanel = j.pb.data[pc*j.pb.npad+jc*kcur:]
				nextB = j.packedPanelLines(jc, ncur, pc, kcur, kc, nc, n1)
			} else {
				if j.rowsB != nil {
					ar.ensureRow(ncur)
					j.packBRows(ar.b, ar.row, pc, kcur, jc, ncur, nr)
				} else {
					if !inPlaceB {
						j.packB(ar.b, pc, kcur, jc, ncur, nr)
					} else if full := ncur / nr * nr; full < ncur {
						// only the partial micro-panel on the right edge is packed
						j.packB(ar.b[full*kcur:], pc, kcur, jc+full, ncur-full, nr)
					}
					nextB = j.nextBPanelLines(jc, ncur, pc, kcur, kc, nc, n1)
				}
			}
			beta, flags := float32(1), flagBeta
			if pc == 0 {
				beta = j.beta
				if beta == 0 {
					flags = 0
				}
			}
			last := pc+kcur == j.k
			if last && j.relu {
				flags |= flagReLU
			}
			calls := (ncur + nr - 1) / nr
			ar.shB.start(nextB, calls*((m1-m0+mr-1)/mr))
			for ir := m0; ir < m1; ir += mr {
				mcur := min(mr, m1-ir)
				ap, lda := &ar.a[0], kcur
				if pMajor {
					lda = mr // packAT's p-major micro-panel
				}
				switch {
				case direct && mcur == mr:
					ap, lda = &j.a[ir*j.lda+pc], j.lda // A's rows in place
				case directT && mcur == mr:
					ap, lda = &j.a[pc*j.lda+ir], j.lda // transposed A's columns in place
				default:
					j.packA(ar.a, ir, mcur, pc, kcur, mr)
				}
				ar.shA.start(j.nextPanelLines(ir+mr, min(mr, m1-ir-mr), pc, kcur), calls)
				for jr := 0; jr < ncur; jr += nr {
					// plans live in the arena: on the stack they would escape through lv.kernel
					if usePrefetchN {
						ar.aux.setPlans(ar.shN.next(), ar.shA.next(), ar.shB.next()) // the caller's lines first
					} else { // two stores: a few cycles count in a 27-step call
						ar.aux.pf[0], ar.aux.pf[1] = ar.shA.next(), ar.shB.next()
					}
					ncr := min(nr, ncur-jr)
					bp := &bpanel[jr*kcur]
					var bias *float32
					if last && j.bias != nil && ncr == nr {
						bias = &j.bias[jc+jr]
					}
					inPlace := inPlaceB && ncr == nr
					if mcur == mr && ncr == nr {
						if inPlace {
							kernelDB(kcur, ap, lda, &j.b[pc*j.ldb+jc+jr], &j.c[ir*j.ldc+jc+jr], j.ldc, beta, bias, flags, &ar.aux, j.ldb)
						} else {
							kernel(kcur, ap, lda, bp, &j.c[ir*j.ldc+jc+jr], j.ldc, beta, bias, flags, &ar.aux)
						}
						continue
					}
					// Edge tile: full kernel into the scratch tile, then merge.
					if inPlace {
						kernelDB(kcur, ap, lda, &j.b[pc*j.ldb+jc+jr], &ar.tile[0], nr, 0, nil, 0, &ar.aux, j.ldb)
					} else {
						kernel(kcur, ap, lda, bp, &ar.tile[0], nr, 0, nil, 0, &ar.aux)
					}
					j.mergeTile(ar.tile, nr, ir, mcur, jc+jr, ncr, beta, flags, last)
				}
			}
		}
	}
}

// mergeTile applies an edge tile t (row stride nr) to C[i0:i0+mr, j0:j0+nc]
// with the same epilogue as the micro-kernel.
func (j *gemmJob) mergeTile(t []float32, nr, i0, mr, j0, nc int, beta float32, flags int, last bool) {
	var bias []float32
	if last && j.bias != nil {
		bias = j.bias[j0 : j0+nc]
	}
	for i := range mr {
		crow := j.c[(i0+i)*j.ldc+j0 : (i0+i)*j.ldc+j0+nc]
		trow := t[i*nr : i*nr+nc]
		for jj, v := range trow {
			if flags&flagBeta != 0 {
				v += beta * crow[jj]
			}
			if bias != nil {
				v += bias[jj]
			}
			if flags&flagReLU != 0 && !(v > 0) {
				v = 0
			}
			crow[jj] = v
		}
	}
}

// panelLines describes the source lines of an A micro-panel as rows of
// cache lines (see prefetchPlan); total 0 means nothing to prefetch.
type panelLines struct {
	start       uintptr // 64-byte aligned address of the first line
	lines, rows int     // lines per row, rows
	stride      int     // bytes between rows
}

// nextPanelLines returns the source lines of the A micro-panel with rows
// [i0, i0+rows) and columns [p0, p0+kc): rows of A when not transposed,
// kc rows of a few lines when transposed, nothing for a RowSource.
func (j *gemmJob) nextPanelLines(i0, rows, p0, kc int) panelLines {
	if rows <= 0 || j.rows != nil {
		return panelLines{}
	}
	var first *float32
	var width int // floats per source row
	if j.transA {
		first, width, rows = &j.a[p0*j.lda+i0], rows, kc
	} else {
		first, width = &j.a[i0*j.lda+p0], kc
	}
	addr := uintptr(unsafe.Pointer(first))
	start := addr &^ 63
	lines := int((addr + uintptr(width)*4 - start + 63) / 64)
	return panelLines{start: start, lines: lines, rows: rows, stride: j.lda * 4}
}

// planShares hands out the consecutive shares of a panelLines, one per
// kernel call, without integer divisions (eight of them per call cost a few
// hundred cycles, a visible share of a kernel call; BenchmarkMicroKernel).
// Share q covers lines [q·per, min((q+1)·per, total)) with
// per = ⌈total/calls⌉.
type planShares struct {
	pl              panelLines
	total, per      int // lines in all, lines per share
	perRows, perCol int // per as whole rows and extra lines
	t, row, col     int // the next share's first line: index, row, column
}

// start prepares the shares of pl split over calls calls.
func (sh *planShares) start(pl panelLines, calls int) {
	*sh = planShares{pl: pl, total: pl.lines * pl.rows}
	if sh.total == 0 {
		return
	}
	if calls == 1 { // one kernel call per A micro-panel (n ≤ NR): no divisions
		sh.per, sh.perRows = sh.total, pl.rows
		return
	}
	sh.per = (sh.total + calls - 1) / calls
	sh.perRows, sh.perCol = sh.per/pl.lines, sh.per%pl.lines
}

// next returns the next share as a prefetch plan (empty past the end).
func (sh *planShares) next() prefetchPlan {
	t0, row, col := sh.t, sh.row, sh.col
	if t0 >= sh.total {
		return prefetchPlan{}
	}
	sh.t += sh.per
	sh.row += sh.perRows
	if sh.col += sh.perCol; sh.col >= sh.pl.lines {
		sh.col -= sh.pl.lines
		sh.row++
	}
	pl := sh.pl
	return prefetchPlan{
		ptr:   pl.start + uintptr(row*pl.stride+col*64),
		first: pl.lines - col,
		lines: pl.lines,
		jump:  pl.stride - pl.lines*64,
		total: min(sh.per, sh.total-t0),
	}
}

// nextBPanel returns the position of the B panel after the one at
// (jc, pc) with ncur columns and kcur rows: the next k slice of the same
// columns, or the first k slice of the next column block; ok is false
// after the last.
func (j *gemmJob) nextBPanel(jc, ncur, pc, kcur, kc, nc, n1 int) (jc2, ncur2, pc2, kcur2 int, ok bool) {
	if pc+kcur >= j.k {
		pc, jc = 0, jc+nc
		if jc >= n1 {
			return 0, 0, 0, 0, false
		}
		ncur = min(nc, n1-jc)
	} else {
		pc += kcur
	}
	return jc, ncur, pc, min(kc, j.k-pc), true
}

// nextBPanelLines returns the source lines of the B panel packed after the
// one at (jc, pc): the next k slice of the same columns, or the first k slice
// of the next column block (nothing after the last).
func (j *gemmJob) nextBPanelLines(jc, ncur, pc, kcur, kc, nc, n1 int) panelLines {
	jc, ncur, pc, kcur, ok := j.nextBPanel(jc, ncur, pc, kcur, kc, nc, n1)
	if !ok {
		return panelLines{}
	}
	var first *float32
	var width, rows int
	if j.transB {
		first, width, rows = &j.b[jc*j.ldb+pc], kcur, ncur
	} else {
		first, width, rows = &j.b[pc*j.ldb+jc], ncur, kcur
	}
	addr := uintptr(unsafe.Pointer(first))
	start := addr &^ 63
	lines := int((addr + uintptr(width)*4 - start + 63) / 64)
	return panelLines{start: start, lines: lines, rows: rows, stride: j.ldb * 4}
}

// forceDirectB overrides directB's choice for tests: 0 lets it decide,
// 1 reads B in place whenever the level and the job allow it, -1 never.
var forceDirectB = 0

// directB reports whether full B micro-panels are read in place by the
// level's kernelDB (kernelPDB for a transposed A) instead of packed (only
// the partial micro-panel on the right edge is packed): B not transposed,
// in a slice (not a RowSource or a PackedB), A in a slice, and B's rows
// 64-byte aligned with a stride that spreads a kc×nc panel over the L2 sets
// (see maxLinesPerL2Set).
func (j *gemmJob) directB(rows, cols, kc, nc int) bool {
	if j.lv.kernelDB == nil || j.transB || j.rowsB != nil || j.pb != nil || j.rows != nil {
		return false
	}
	if j.transA && j.lv.kernelPDB == nil {
		return false
	}
	if forceDirectB != 0 {
		return forceDirectB > 0
	}
	if j.ldb%16 != 0 || uintptr(unsafe.Pointer(&j.b[0]))%64 != 0 {
		return false // rows not on cache-line boundaries: split-line loads
	}
	if j.overlap {
		// Overlapping rows (SgemmSerialOverlap): the rows share their
		// lines, so a k×n panel spans only about k·ldb floats and reading
		// it in place saves packing n/ldb times the data it spans.
		return true
	}
	// Reading in place saves packing, one pass over B per worker, but each
	// of the (m1-m0)/MR A micro-panels then reads strided B rows: it pays
	// only when few A micro-panels share a B panel (up to directBRows rows
	// per worker) and the B rows spread over the L2 sets (at ldb 8 KiB, 16
	// lines per set, it loses): BenchmarkSgemm's 196x512x4608, in-place
	// against packed in alternating runs.
	if rows > directBRows {
		return false
	}
	kc = min(kc, j.k)
	if min(nc, cols) == j.ldb {
		// Whole rows: the panel is one contiguous block (O(1) check).
		// On conv dKernel chunks (28×64×2016, B = dz) this saves the
		// packing time without slowing the kernel (BenchmarkConv2D,
		// block1_conv1 backward).
		return j.k*cols >= directBMinContiguous && (kc*j.ldb*4/64+l2Sets-1)/l2Sets <= directBSetLines
	}
	// Below directBMinFloats of B per worker, packing is cheap and cached,
	// and the set count below costs a few microseconds.
	if j.k*cols < directBMinFloats {
		return false
	}
	return maxLinesPerL2Set(j.ldb, kc, min(nc, cols)) <= directBSetLines
}

const (
	directBRows      = 400     // most rows of C per worker for reading B in place
	directBMinFloats = 1 << 18 // least floats of B per worker
	// least floats of a B whose rows the panel covers whole
	directBMinContiguous = 1 << 15
	directBSetLines      = 9    // most panel lines on one L2 set (16-way)
	l2Sets               = 2048 // sets of the 2 MiB 16-way L2 (64-byte lines)
)

// maxLinesPerL2Set returns how many of the cache lines of a rows×cols
// panel of 64-byte aligned rows, ldb floats apart (ldb a multiple of 16),
// fall into the fullest L2 set (set = line address mod l2Sets). A panel whose
// rows pile onto few sets is evicted by its own rows even when it would fit.
func maxLinesPerL2Set(ldb, rows, cols int) int {
	w := (cols*4 + 63) / 64 // lines per row
	s := ldb * 4 / 64 % l2Sets
	period := l2Sets / gcd(s, l2Sets) // row offsets repeat after period rows
	base := w / l2Sets * rows         // whole wraps of a very long row
	w %= l2Sets
	var diff [l2Sets + 1]int32
	for r := range min(rows, period) {
		n := int32((rows - r + period - 1) / period) // rows on this offset
		o := r * s % l2Sets
		if end := o + w; end <= l2Sets {
			diff[o] += n
			diff[end] -= n
		} else {
			diff[o] += n
			diff[0] += n
			diff[end-l2Sets] -= n
		}
	}
	most, run := int32(0), int32(0)
	for i := range l2Sets {
		run += diff[i]
		most = max(most, run)
	}
	return base + int(most)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// directA reports whether full A micro-panels can be read in place instead
// of packed: A not transposed, not from a RowSource, alpha == 1 (packing
// would scale it), and a row stride that spreads the MR rows over the L1
// sets well enough: at most directPerSet rows on one 64-byte set index (the
// L1d is 12-way). 7 rather than 4 lets BenchmarkSgemm's 196x512x4608 (lda
// 18 KiB: 7 rows per set) skip packing, which is faster there; even 14 rows
// on one set (lda 8 KiB, 2048²) cost little.
func (j *gemmJob) directA() bool {
	if j.transA || j.rows != nil || j.alpha != 1 {
		return false
	}
	const directPerSet = 7
	var perSet [64]int
	for i := range j.lv.mr {
		s := (i * j.lda * 4 / 64) % 64
		perSet[s]++
		if perSet[s] > directPerSet {
			return false
		}
	}
	return true
}
