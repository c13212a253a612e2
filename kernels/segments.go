package kernels

import "fmt"

// SegmentKind says how a block of a Segments matrix lies in memory.
type SegmentKind int

const (
	// SegmentPack: the block is irregular; its rows are packed with Rows.
	SegmentPack SegmentKind = iota
	// SegmentZero: the block is all zeros and contributes nothing.
	SegmentZero
	// SegmentView: the block is a strided view of Data, read in place.
	SegmentView
)

// Segments is a virtual m×k matrix A (like RowSource) whose columns split
// into k/Width() segments of Width() floats, where a block of consecutive
// rows of one segment is often a plain strided matrix already in memory.
// That is an im2col patch matrix with undilated kernel rows: segment s of a
// patch row is kernel row s (kw taps × cin channels, contiguous in NHWC),
// and consecutive output pixels of one image row are stride·cin floats
// apart, so the micro-kernel can read those blocks where they lie (rows
// overlapping) instead of copying them.
type Segments interface {
	// Rows writes A[i, p0:p0+kc] into dst (as a RowSource; concurrent calls).
	Rows(dst []float32, i, p0, kc int)
	// SegmentWidth is the segment width in floats; it divides k.
	SegmentWidth() int
	// Segment describes rows [i0, i0+rows) of segment s: with SegmentView,
	// A[i0+i, s·w+p] = data[off + i·ld + p] for i < rows, p < w (all in
	// range of data); SegmentZero means all zero; SegmentPack, pack with Rows.
	Segment(i0, rows, s int) (data []float32, off, ld int, kind SegmentKind)
}

// SgemmSegmentsBiasReLU is SgemmRowsBiasReLU for a Segments matrix: C =
// A·B + bias, then max(C, 0) when relu (B k×n with stride ldb, C m×n with
// stride ldc, overwritten; bias nil or n floats). B is packed once per
// column block for the whole k, and each MR-row block of C is finished
// segment by segment while it stays in L1: segments that are views are read
// in place, zero segments are skipped, the others are packed through Rows.
//
// mask, when not nil (relu only, n a multiple of 16, m·n/16 words),
// receives C > 0 as bits in ReluMask's layout over the m×n matrix (bit
// (i·n+j)%16 of word (i·n+j)/16): what a ReLU layer's backward pass needs,
// written by the micro-kernel from registers on the avx512 level, by a
// pass over C elsewhere.
func SgemmSegmentsBiasReLU(m, n, k int, a Segments, b []float32, ldb int, bias []float32, relu bool, c []float32, ldc int, mask []uint16) {
	sgemmSegments(m, n, k, a, b, ldb, bias, relu, c, ldc, mask, false)
}

// SgemmSegmentsBiasReLUSerial is SgemmSegmentsBiasReLU on the calling
// goroutine only, for callers that split the work across the cores
// themselves (the banded thin-convolution forward runs bands on every core:
// serial bands of 8 output rows beat parallel bands of 2 in BenchmarkConv2D).
func SgemmSegmentsBiasReLUSerial(m, n, k int, a Segments, b []float32, ldb int, bias []float32, relu bool, c []float32, ldc int, mask []uint16) {
	sgemmSegments(m, n, k, a, b, ldb, bias, relu, c, ldc, mask, true)
}

func sgemmSegments(m, n, k int, a Segments, b []float32, ldb int, bias []float32, relu bool, c []float32, ldc int, mask []uint16, serial bool) {
	checkShape(m, n, k)
	checkMatrix("b", k, n, b, ldb)
	checkMatrix("c", m, n, c, ldc)
	if bias != nil && len(bias) < n {
		panic(fmt.Sprintf("kernels: len(bias) = %d < n = %d", len(bias), n))
	}
	checkMask(mask, m, n, relu)
	w := a.SegmentWidth()
	if w <= 0 || k%w != 0 {
		panic(fmt.Sprintf("kernels: segment width %d does not divide k = %d", w, k))
	}
	if m == 0 || n == 0 {
		return
	}
	lv := active.Load()
	j := getJob()
	j.gemmArgs = gemmArgs{lv: lv, m: m, n: n, k: k, alpha: 1, seg: a,
		b: b, ldb: ldb, beta: 0, c: c, ldc: ldc, bias: bias, relu: relu, serial: serial}
	if lv.maskInKernel {
		j.mask = mask
	}
	j.run()
	j.release()
	if mask != nil && !lv.maskInKernel {
		for i := range m {
			ReluMask(mask[i*n/16:(i+1)*n/16], c[i*ldc:i*ldc+n])
		}
	}
}

// checkMask panics unless mask is nil or fits an m×n ReLU output.
func checkMask(mask []uint16, m, n int, relu bool) {
	switch {
	case mask == nil:
	case !relu:
		panic("kernels: a ReLU mask asked for without relu")
	case n%16 != 0:
		panic(fmt.Sprintf("kernels: ReLU mask needs n = %d to be a multiple of 16", n))
	case len(mask) < m*n/16:
		panic(fmt.Sprintf("kernels: len(mask) = %d < m·n/16 = %d", len(mask), m*n/16))
	}
}

// maskFlags returns flags with flagMask added and aux aimed at the mask
// words of the tile at C[i0, j0], when the job records a mask and this is
// the tile's last pass.
func (j *gemmJob) maskFlags(flags int, last bool, i0, j0 int, aux *kernelAux) int {
	if j.mask == nil || !last {
		return flags
	}
	aux.mask, aux.ldm = &j.mask[(i0*j.n+j0)/16], j.n/16*2
	return flags | flagMask
}

// maskTile sets the mask bits of C[i0:i0+rows, j0:j0+cols] from C (an edge
// tile, finished by mergeTile); j0 and cols are multiples of 16.
func (j *gemmJob) maskTile(i0, rows, j0, cols int) {
	for i := i0; i < i0+rows; i++ {
		ReluMask(j.mask[(i*j.n+j0)/16:(i*j.n+j0+cols)/16], j.c[i*j.ldc+j0:i*j.ldc+j0+cols])
	}
}

// maxSegments bounds k/width for the per-block segment table.
const maxSegments = 64

// blockSegments is block for a Segments A (see SgemmSegmentsBiasReLU).
func (j *gemmJob) blockSegments(m0, m1, n0, n1 int, ar *arena) {
	lv := j.lv
	mr, nr := lv.mr, lv.nr
	w := j.seg.SegmentWidth()
	S := j.k / w
	if S > maxSegments {
		panic(fmt.Sprintf("kernels: %d segments > %d", S, maxSegments))
	}
	nc := max(nr, min(lv.bPanel/j.k/nr*nr, roundUp(n1-n0, nr)))
	ar.ensure(lv, w, 0)
	if len(ar.b) < j.k*nc {
		ar.b = alignedFloats(j.k * nc)
	}
	ar.aux = kernelAux{}
	var data [maxSegments][]float32
	var off, ld [maxSegments]int
	var kind [maxSegments]SegmentKind
	for jc := n0; jc < n1; jc += nc {
		ncur := min(nc, n1-jc)
		j.packB(ar.b, 0, j.k, jc, ncur, nr)
		for ir := m0; ir < m1; ir += mr {
			mcur := min(mr, m1-ir)
			lastS := -1
			for s := range S {
				data[s], off[s], ld[s], kind[s] = j.seg.Segment(ir, mcur, s)
				if mcur < mr && kind[s] == SegmentView {
					kind[s] = SegmentPack // the kernel reads mr rows
				}
				if kind[s] != SegmentZero {
					lastS = s
				}
			}
			if lastS < 0 { // all zero: one packed (zero) segment applies the epilogue
				kind[S-1], lastS = SegmentPack, S-1
			}
			first := true
			for s := range S {
				if kind[s] == SegmentZero {
					continue
				}
				var ap *float32
				lda := w
				if kind[s] == SegmentView {
					d := data[s]
					_ = d[off[s]+(mr-1)*ld[s]+w-1]
					ap, lda = &d[off[s]], ld[s]
				} else {
					for i := range mcur {
						j.seg.Rows(ar.a[i*w:i*w+w:i*w+w], ir+i, s*w, w)
					}
					clear(ar.a[mcur*w : mr*w])
					ap = &ar.a[0]
				}
				beta, flags := float32(1), flagBeta
				if first {
					beta, flags = 0, 0
				}
				if w < segmentNoCPrefetchK {
					flags |= flagNoCPrefetch
				}
				first = false
				last := s == lastS
				if last && j.relu {
					flags |= flagReLU
				}
				for jr := 0; jr < ncur; jr += nr {
					ncr := min(nr, ncur-jr)
					bp := &ar.b[jr*j.k+s*w*nr]
					var bias *float32
					if last && j.bias != nil && ncr == nr {
						bias = &j.bias[jc+jr]
					}
					if mcur == mr && ncr == nr {
						f := j.maskFlags(flags, last, ir, jc+jr, &ar.aux)
						lv.kernel(w, ap, lda, bp, &j.c[ir*j.ldc+jc+jr], j.ldc, beta, bias, f, &ar.aux)
						continue
					}
					lv.kernel(w, ap, lda, bp, &ar.tile[0], nr, 0, nil, 0, &ar.aux)
					j.mergeTile(ar.tile, nr, ir, mcur, jc+jr, ncr, beta, flags, last)
					if j.mask != nil && last {
						j.maskTile(ir, mcur, jc+jr, ncr)
					}
				}
			}
		}
	}
}
