package nn

import (
	"runtime"
	"sync"

	"github.com/gotransfer/gotransfer/kernels"
)

// patches describes the virtual im2col matrix of an NHWC image batch src
// (N, H, W, C) for a kh×kw window with stride, dilation and begin padding:
// row r = (n·OH + oh)·OW + ow, column p = (i·kw + j)·C + c holds
//
//	src[n, oh·sh − pt + i·dh, ow·sw − pl + j·dw, c]   (0 outside the image).
//
// It is used three ways: the forward pass (src = x), the dKernel tiles
// (src = x) and the transposed implicit GEMM for dx (src = dz, flipped kernel).
type patches struct {
	src            []float32
	H, W, C        int
	OH, OW         int
	kh, kw         int
	sh, sw, dh, dw int
	pt, pl         int
}

// rows is a kernels.RowSource: it writes A[r, p0:p0+kc] into dst, copying
// runs of channels straight from src and zeroing padding taps. It only reads
// shared data, so concurrent calls are safe.
func (g *patches) rows(dst []float32, r, p0, kc int) {
	C := g.C
	ohw := g.OH * g.OW
	n, rem := r/ohw, r%ohw
	oh, ow := rem/g.OW, rem%g.OW
	ih0, iw0 := oh*g.sh-g.pt, ow*g.sw-g.pl
	img := g.src[n*g.H*g.W*C:]
	tap, ch := p0/C, p0%C
	for done := 0; done < kc; {
		j := tap % g.kw
		ih, iw := ih0+(tap/g.kw)*g.dh, iw0+j*g.dw
		if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
			seg := min(C-ch, kc-done)
			clear(dst[done : done+seg])
			done += seg
			tap, ch = tap+1, 0
			continue
		}
		// Undilated taps of one kernel row that stay inside the image are
		// adjacent in NHWC memory: copy them as one run.
		run := 1
		if g.dw == 1 {
			run = min(g.kw-j, g.W-iw)
		}
		seg := min(run*C-ch, kc-done)
		off := (ih*g.W+iw)*C + ch
		copy(dst[done:done+seg], img[off:off+seg])
		done += seg
		adv := ch + seg
		tap, ch = tap+adv/C, adv%C
	}
}

// The patch matrix as kernels.Segments (undilated kernel rows only, dw == 1):
// segment s is kernel row s, kw·C floats contiguous in NHWC memory, and the
// patches of consecutive output pixels on one image row are sw·C floats
// apart, so a run of them is a strided (overlapping) view of src.

// segmentsPay reports whether the implicit GEMM should take g as
// kernels.Segments: kernel rows undilated (contiguous), and image rows wide
// enough that most micro-panels of output pixels lie inside one image row
// away from the left/right padding (the others are packed as before), with
// kernel rows long enough for a worthwhile micro-kernel call (the
// thresholds are convThresholds.segmentsMinOW and segmentsMinWidth).
func (g *patches) segmentsPay(th *convThresholds) bool {
	return g.dw == 1 && g.OW >= th.segmentsMinOW && g.kw*g.C >= th.segmentsMinWidth
}

// Rows is rows as a method (kernels.Segments).
func (g *patches) Rows(dst []float32, r, p0, kc int) { g.rows(dst, r, p0, kc) }

// SegmentWidth is kw·C, one kernel row of a patch.
func (g *patches) SegmentWidth() int { return g.kw * g.C }

// Segment describes kernel row s of patch rows [r0, r0+n): zero when that
// kernel row lies in the top/bottom padding for all of them, a view of src
// when they are on one image row and all their taps are inside it, else to
// be packed.
func (g *patches) Segment(r0, n, s int) ([]float32, int, int, kernels.SegmentKind) {
	ohw := g.OH * g.OW
	b, rem := r0/ohw, r0%ohw
	oh, ow := rem/g.OW, rem%g.OW
	if ow+n > g.OW {
		return nil, 0, 0, kernels.SegmentPack // spans two image rows
	}
	ih := oh*g.sh - g.pt + s*g.dh
	if ih < 0 || ih >= g.H {
		return nil, 0, 0, kernels.SegmentZero
	}
	iw0 := ow*g.sw - g.pl
	if iw0 < 0 || (ow+n-1)*g.sw-g.pl+g.kw > g.W {
		return nil, 0, 0, kernels.SegmentPack // left or right padding
	}
	return g.src, ((b*g.H+ih)*g.W + iw0) * g.C, g.sw * g.C, kernels.SegmentView
}

// fillTile writes rows [r0, r0+n) of the patch matrix into tile (n × K),
// split over the available cores.
func (g *patches) fillTile(tile []float32, r0, n int) {
	K := g.kh * g.kw * g.C
	parallelFor(n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			g.rows(tile[r*K:(r+1)*K], r0+r, 0, K)
		}
	})
}

// col2imAdd is the adjoint of fillTile: it scatters tile (n × K), the
// gradient of patch rows [r0, r0+n), back onto dsrc (the src layout):
//
//	dsrc[n, ih, iw, c] += tile[r − r0, (i·kw + j)·C + c]   for every in-image tap.
//
// Taps of different rows overlap, so the work is split by channel ranges,
// which never collide.
func (g *patches) col2imAdd(dsrc, tile []float32, r0, n int) {
	C, K := g.C, g.kh*g.kw*g.C
	ohw := g.OH * g.OW
	parallelFor(C, func(c0, c1 int) {
		for r := r0; r < r0+n; r++ {
			b, rem := r/ohw, r%ohw
			oh, ow := rem/g.OW, rem%g.OW
			ih0, iw0 := oh*g.sh-g.pt, ow*g.sw-g.pl
			img := dsrc[b*g.H*g.W*C:]
			src := tile[(r-r0)*K:]
			for i := 0; i < g.kh; i++ {
				ih := ih0 + i*g.dh
				if ih < 0 || ih >= g.H {
					continue
				}
				for j := 0; j < g.kw; j++ {
					iw := iw0 + j*g.dw
					if iw < 0 || iw >= g.W {
						continue
					}
					d := img[(ih*g.W+iw)*C+c0 : (ih*g.W+iw)*C+c1]
					s := src[(i*g.kw+j)*C+c0 : (i*g.kw+j)*C+c1]
					for k := range d {
						d[k] += s[k]
					}
				}
			}
		}
	})
}

// parallelFor splits [0, n) into one contiguous chunk per core (at most
// GOMAXPROCS goroutines) and waits for all; small n runs inline.
func parallelFor(n int, body func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n < 8 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	wg.Wait()
}

// rangeBody is work over [lo, hi) of some index range, run by worker
// (0 ≤ worker < GOMAXPROCS) so it can use per-worker scratch.
type rangeBody interface {
	runRange(worker, lo, hi int)
}

// rangeTask is one piece of a parallelRange call.
type rangeTask struct {
	body           rangeBody
	worker, lo, hi int
	wg             *sync.WaitGroup
}

// rangeWorkers is a persistent pool of goroutines for parallelRange: a go
// statement allocates, a channel send of a small struct does not.
var rangeWorkers struct {
	mu      sync.Mutex
	started int
	tasks   chan rangeTask
}

// rangeParts is how many pieces parallelRange(n, ...) splits [0, n) into:
// one per core, or 1 when n < 8; callers size per-piece buffers with it.
func rangeParts(n int) int {
	if n < 8 {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), n))
}

// parallelRange is parallelFor without allocation: it splits [0, n) into
// one contiguous piece per core, runs piece 0 on the calling goroutine and
// the others on pool goroutines, and waits (with wg, owned by the caller so
// that nothing escapes per call).
func parallelRange(n int, body rangeBody, wg *sync.WaitGroup) {
	workers := rangeParts(n)
	if workers == 1 {
		body.runRange(0, 0, n)
		return
	}
	rangeWorkers.mu.Lock()
	if rangeWorkers.tasks == nil {
		rangeWorkers.tasks = make(chan rangeTask)
	}
	for ; rangeWorkers.started < workers-1; rangeWorkers.started++ {
		go func() {
			for t := range rangeWorkers.tasks {
				t.body.runRange(t.worker, t.lo, t.hi)
				t.wg.Done()
			}
		}()
	}
	rangeWorkers.mu.Unlock()
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		rangeWorkers.tasks <- rangeTask{body, w, w * n / workers, (w + 1) * n / workers, wg}
	}
	body.runRange(0, 0, n/workers)
	wg.Wait()
}
