package kernels

import (
	"sync"
	"unsafe"
)

// Packed layouts shared by every micro-kernel of a level (MR×NR tile):
//
//	A micro-panel: MR rows of kc floats, row i at a[i*kc : i*kc+kc], holding
//	               alpha·op(A)[ir+i, pc:pc+kc]; rows past the matrix edge are 0.
//	               The kernel broadcasts a[i*kc+p].
//	B panel:       nc/NR micro-panels of kc×NR; micro-panel q at b[q*kc*NR:],
//	               element (p, j) at p*NR+j holding op(B)[pc+p, jc+q*NR+j];
//	               columns past the matrix edge are 0. The kernel loads whole
//	               NR-float rows.
//
// A stays row-major inside the micro-panel, so packing a non-transposed A (or
// a RowSource) is a row copy, never a transpose.

// packA fills dst with the A micro-panel of rows [i0, i0+rows) and columns
// [p0, p0+kc), zero rows up to mr, scaled by alpha.
func (j *gemmJob) packA(dst []float32, i0, rows, p0, kc, mr int) {
	switch {
	case j.rows != nil:
		for i := range rows {
			j.rows(dst[i*kc:i*kc+kc:i*kc+kc], i0+i, p0, kc)
		}
	case !j.transA:
		for i := range rows {
			src := j.a[(i0+i)*j.lda+p0:]
			copy(dst[i*kc:i*kc+kc], src[:kc])
		}
	case j.lv.packAT != nil:
		// A is stored k×m: the p-major micro-panel for kernelP takes
		// contiguous runs of rows floats from kc source rows.
		_ = j.a[(p0+kc-1)*j.lda+i0+rows-1]
		_ = dst[mr*kc-1]
		j.lv.packAT(&dst[0], &j.a[p0*j.lda+i0], j.lda, kc, rows, mr)
		if j.alpha != 1 {
			j.lv.vec.scale(j.alpha, dst[:mr*kc])
		}
		return
	default:
		// A is stored k×m: op(A)[i][p] = a[p*lda+i]. Row by row of the
		// micro-panel: sequential writes, reads striding down a column
		// block that stays in L1 across the rows.
		_ = j.a[(p0+kc-1)*j.lda+i0+rows-1]
		for i := range rows {
			out := dst[i*kc : i*kc+kc]
			src := j.a[p0*j.lda+i0+i:]
			for p := range out {
				out[p] = src[p*j.lda]
			}
		}
	}
	if j.alpha != 1 {
		j.lv.vec.scale(j.alpha, dst[:rows*kc])
	}
	clear(dst[rows*kc : mr*kc])
}

// packB fills dst with the B panel of rows [p0, p0+kc) and columns
// [j0, j0+cols), padded with zero columns to a multiple of nr.
func (j *gemmJob) packB(dst []float32, p0, kc, j0, cols, nr int) {
	q0 := 0
	if full := cols / nr; !j.transB && j.lv.packB != nil && full > 0 {
		// whole micro-panels in assembly; bounds checked here
		_ = dst[full*kc*nr-1]
		_ = j.b[(p0+kc-1)*j.ldb+j0+full*nr-1]
		j.lv.packB(&dst[0], &j.b[p0*j.ldb+j0], j.ldb, kc, full)
		q0 = full * nr
	} else if j.transB && j.lv.packBT != nil && full > 0 {
		// B stored n×k: whole micro-panels transposed in assembly
		_ = dst[full*kc*nr-1]
		_ = j.b[(j0+full*nr-1)*j.ldb+p0+kc-1]
		j.lv.packBT(&dst[0], &j.b[j0*j.ldb+p0], j.ldb, kc, full)
		q0 = full * nr
	}
	for q := q0; q < cols; q += nr {
		w := min(nr, cols-q)
		panel := dst[q*kc : q*kc+kc*nr]
		if !j.transB {
			for p := range kc {
				src := j.b[(p0+p)*j.ldb+j0+q:]
				row := panel[p*nr : p*nr+nr]
				copy(row, src[:w])
				clear(row[w:])
			}
			continue
		}
		// B is stored n×k: op(B)[p][jj] = b[jj*ldb+p]. Row by row of the
		// panel: sequential writes, reads from w source rows that stay in L1.
		_ = j.b[(j0+q+w-1)*j.ldb+p0+kc-1]
		base := j.b[(j0+q)*j.ldb+p0:]
		for p := range kc {
			row := panel[p*nr : p*nr+nr]
			for jj := range w {
				row[jj] = base[jj*j.ldb+p]
			}
			clear(row[w:])
		}
	}
}

// packBRows fills dst with the B panel of rows [p0, p0+kc) and columns
// [j0, j0+cols) of a virtual B that j.rowsB supplies row by row: each row
// is written into row (cols floats, L1-resident scratch), then cut into the
// NR-wide micro-panels (whole-array copies, no memmove calls), the last one
// zero-padded.
func (j *gemmJob) packBRows(dst, row []float32, p0, kc, j0, cols, nr int) {
	full := cols / nr * nr
	row = row[:cols:cols]
	for p := range kc {
		j.rowsB(row, p0+p, j0, cols)
		q := 0
		switch nr {
		case 32:
			for ; q < full; q += 32 {
				*(*[32]float32)(dst[q*kc+p*32:]) = *(*[32]float32)(row[q:])
			}
		case 16:
			for ; q < full; q += 16 {
				*(*[16]float32)(dst[q*kc+p*16:]) = *(*[16]float32)(row[q:])
			}
		}
		for ; q < cols; q += nr {
			w := min(nr, cols-q)
			d := dst[q*kc+p*nr : q*kc+p*nr+nr]
			copy(d, row[q:q+w])
			clear(d[w:])
		}
	}
}

// arena holds one worker's packing buffers, 64-byte aligned and reused
// across calls: a (one A micro-panel), b (one B panel) and tile (a scratch
// MR×NR tile for edges).
type arena struct {
	a, b, tile []float32
	row        []float32  // one row of a RowSource B (packBRows)
	aux        kernelAux  // the current kernel call's prefetch plans and mask
	shA, shB   planShares // shares of the next A micro-panel and B panel (block)
	shN        planShares // shares of the caller's next buffer (SgemmSerialPrefetch)
}

// ensureRow grows the RowSource-B row scratch to n floats.
func (ar *arena) ensureRow(n int) {
	if len(ar.row) < n {
		ar.row = alignedFloats(max(n, 1024))
	}
}

// ensure grows the buffers for a level and block sizes (rarely: sizes are
// bounded by the level's kcMax and bPanel).
func (ar *arena) ensure(lv *kernelLevel, kc, nc int) {
	if n := lv.mr * kc; len(ar.a) < n {
		ar.a = alignedFloats(max(n, 16*512))
	}
	if n := kc * nc; len(ar.b) < n {
		ar.b = alignedFloats(max(n, lv.bPanel))
	}
	if n := lv.mr * lv.nr; len(ar.tile) < n {
		ar.tile = alignedFloats(max(n, 16*32))
	}
}

// alignedFloats returns n zeroed floats starting on a 64-byte boundary.
func alignedFloats(n int) []float32 {
	buf := make([]float32, n+16)
	off := 0
	if r := uintptr(unsafe.Pointer(&buf[0])) & 63; r != 0 {
		off = int(64-r) / 4
	}
	return buf[off : off+n : off+n]
}

// arenas is a free list of arenas; it only grows to the number of
// simultaneous workers, so steady-state calls allocate nothing.
var arenas struct {
	sync.Mutex
	free []*arena
}

func getArena() *arena {
	arenas.Lock()
	defer arenas.Unlock()
	if n := len(arenas.free); n > 0 {
		ar := arenas.free[n-1]
		arenas.free = arenas.free[:n-1]
		return ar
	}
	return new(arena)
}

func putArena(ar *arena) {
	arenas.Lock()
	arenas.free = append(arenas.free, ar)
	arenas.Unlock()
}

// packATGo is the pure-Go twin of the packAT assembly: for p < kc,
// dst[p*mr:][:mr] = src[p*lda:][:rows] followed by mr-rows zeros.
func packATGo(dst, src []float32, lda, kc, rows, mr int) {
	for p := range kc {
		out := dst[p*mr : p*mr+mr]
		copy(out, src[p*lda:p*lda+rows])
		clear(out[rows:])
	}
}

// packBTGo is the pure-Go twin of the packBT assembly: for q < panels,
// p < kc, jj < nr: dst[q*kc*nr+p*nr+jj] = src[(q*nr+jj)*ldb+p].
func packBTGo(dst, src []float32, ldb, kc, panels, nr int) {
	for q := range panels {
		for p := range kc {
			row := dst[q*kc*nr+p*nr : q*kc*nr+p*nr+nr]
			for jj := range row {
				row[jj] = src[(q*nr+jj)*ldb+p]
			}
		}
	}
}
