package nn

import (
	"sync"

	"github.com/gotransfer/gotransfer/kernels"
)

// The dKernel of a stride-1, undilated convolution whose output keeps the
// input's size ('same' padding), read straight from the input.
//
// With OH = H and OW = W, output pixel r = (n·H + oh)·W + ow sits at x[r·C]
// in NHWC memory, and kernel row i of its patch is
//
//	x[n, oh−pt+i, ow−pl .. ow−pl+kw−1, 0..C) = x_flat[r·C + s_i : r·C + s_i + kw·C],
//	s_i = ((i−pt)·W − pl)·C.
//
// So kernel row i of the patch matrix (pixels × kw·C) is a matrix whose
// rows overlap, C floats apart: a Toeplitz view of x. Its rows of dKernel
// (kw·C × cout, rows i·kw·C .. (i+1)·kw·C) are view_iᵀ · dz, one GEMM per
// kernel row (kernels.SgemmSerialOverlap) in which the p-major micro-kernel
// reads view_iᵀ in place and B = dz is read in place too: nothing is packed,
// where the RowSource path built 9·C-float patch rows and copied them into
// B panels.
// The view differs from the patch matrix only where the window leaves the
// image:
//   - pixels whose input row oh−pt+i is outside the image (top and bottom
//     padding) are left out of kernel row i's GEMM: per image the others
//     form one contiguous range of pixels;
//   - a left or right padding tap (ow−pl+j outside [0, W)) reads the
//     neighbouring image row's edge pixel instead of zero. Only the pl
//     leftmost and pr = kw−1−pl rightmost pixels of each image row have
//     such taps; they are corrected afterwards by one small GEMM,
//     dKernel += Δᵀ · dz_E, with Δ = correct patch row − what the views
//     read, over these edge pixels E;
//   - at the very start and end of x a view would read outside the slice:
//     the (edge) pixels concerned are left out of the view's GEMM and get
//     their whole correct row through Δ.

// toeplitzGrad is the in-place dKernel step, with its scratch: per-core
// partial dKernels and per-core edge scratch.
type toeplitzGrad struct {
	dwT  []float32 // per-core dKernel (K × cout)
	core []toeplitzScratch
	job  toeplitzJob
}

// toeplitzJob is one toeplitzGrad.kernelGrad call, shared by the cores: a
// core given pixels [lo, hi) writes their dKernel sum to dwT[worker].
type toeplitzJob struct {
	t      *toeplitzGrad
	src    *patches
	dz, dw []float32
	cout   int
	wg     sync.WaitGroup
}

// toeplitzScratch is one core's scratch for toeplitzPart.
type toeplitzScratch struct {
	ranges []pixelRange // the in-place range of each (image, kernel row), image-major
	dzE    []float32    // edge pixels' dz rows (toeplitzChunk × cout)
	delta  []float32    // edge pixels' Δ rows (toeplitzChunk × K)
}

// pixelRange is a half-open range of output pixels.
type pixelRange struct{ lo, hi int }

// toeplitzChunk is how many edge pixels one correction GEMM takes.
const toeplitzChunk = 128

// kernelGrad sets dw (K × cout) = patchesᵀ·dz over the M pixels with the
// patches of src read in place. The pixels are split across the cores,
// each summing its share into its own partial dKernel, added in core order
// (so the result does not depend on timing). The table takes it only with
// many pixels per patch column (convThresholds.kernelGradMinPixelsPerK):
// with few (block4 and block5 at batch 1) the partial sums, or with the
// output channels split instead, C's traffic over a short reduction, cost
// more than the tile path saves (BenchmarkConv2D/block5_conv2/bwd).
func (t *toeplitzGrad) kernelGrad(c *Conv2D, src *patches, dz, dw []float32, M, K int) {
	cout := c.cout
	parts := rangeParts(M)
	t.dwT = ensure(t.dwT, parts*K*cout)
	for len(t.core) < parts {
		t.core = append(t.core, toeplitzScratch{})
	}
	j := &t.job
	j.t, j.src, j.dz, j.dw, j.cout = t, src, dz, dw, cout
	parallelRange(M, j, &j.wg)
	j.t, j.src, j.dz, j.dw = nil, nil, nil, nil
	copy(dw, t.dwT[:K*cout])
	for q := 1; q < parts; q++ {
		kernels.Axpy(1, t.dwT[q*K*cout:(q+1)*K*cout], dw)
	}
}

func (j *toeplitzJob) runRange(worker, lo, hi int) {
	size := len(j.dw)
	toeplitzPart(j.src, j.dz, j.t.dwT[worker*size:(worker+1)*size], j.cout, lo, hi, &j.t.core[worker])
}

// viewOffset is s_i: where kernel row i of output pixel r's patch starts
// in the input, relative to r·C (stride 1, undilated, OH = H, OW = W).
func (g *patches) viewOffset(i int) int { return ((i-g.pt)*g.W - g.pl) * g.C }

// toeplitzPart overwrites dw (K × cout) with Σ over the pixels [lo, hi)
// of patch[r]ᵀ ⊗ dz[r], reading the patches of src in place.
func toeplitzPart(src *patches, dz, dw []float32, cout, lo, hi int, sc *toeplitzScratch) {
	C, H, W := src.C, src.H, src.W
	HW, kwC := H*W, src.kw*src.C
	K := src.kh * kwC
	x := src.src
	clear(dw)
	n0 := lo / HW
	sc.ranges = sc.ranges[:0]
	for n := n0; n*HW < hi; n++ {
		for i := range src.kh {
			s := src.viewOffset(i)
			a := max(lo, n*HW+max(0, src.pt-i)*W)
			b := min(hi, n*HW+min(H, H+src.pt-i)*W)
			for a < b && a*C+s < 0 {
				a++ // the view would start before x: edge pixels, corrected below
			}
			for a < b && (b-1)*C+s+kwC > len(x) {
				b-- // ... or end after it
			}
			if a < b {
				kernels.SgemmSerialOverlap(true, kwC, cout, b-a, 1, x[a*C+s:], C, dz[a*cout:], cout, 1, dw[i*kwC*cout:], cout)
			} else {
				a, b = 0, 0
			}
			sc.ranges = append(sc.ranges, pixelRange{a, b})
		}
	}
	// Corrections over the edge pixels, toeplitzChunk at a time.
	pl, pr := src.pl, src.kw-1-src.pl
	if pl == 0 && pr == 0 {
		return
	}
	sc.dzE = ensure(sc.dzE, toeplitzChunk*cout)
	sc.delta = ensure(sc.delta, toeplitzChunk*K)
	e := 0
	flush := func() {
		kernels.SgemmSerial(true, false, K, cout, e, 1, sc.delta, K, sc.dzE, cout, 1, dw, cout)
		e = 0
	}
	for row := lo / W * W; row < hi; row += W {
		for ow := 0; ow < W; ow++ {
			if ow == pl && W-pr > pl {
				if ow = W - pr; ow == W { // skip the interior of the row
					break
				}
			}
			r := row + ow
			if r < lo || r >= hi {
				continue
			}
			d := sc.delta[e*K : e*K+K]
			src.rows(d, r, 0, K) // the correct patch row
			copy(sc.dzE[e*cout:e*cout+cout], dz[r*cout:r*cout+cout])
			n := r / HW
			for i := range src.kh {
				if rg := sc.ranges[(n-n0)*src.kh+i]; r >= rg.lo && r < rg.hi {
					s := src.viewOffset(i)
					kernels.Axpy(-1, x[r*C+s:r*C+s+kwC], d[i*kwC:i*kwC+kwC]) // minus what the view read
				}
			}
			if e++; e == toeplitzChunk {
				flush()
			}
		}
	}
	if e > 0 {
		flush()
	}
}
