// Package winograd computes stride-1, 3x3, 'same'-padded convolutions (all 13
// of VGG16's) with Winograd's minimal filtering algorithm F(m×m, 3×3)
// (Lavin & Gray 2015), in NHWC with Keras's (3,3,Cin,Cout) kernel layout.
//
// One output tile of m×m pixels needs an α×α input tile (α = m+2) and is
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// summed over input channels. Because the sum over channels commutes with the
// transforms, a block of T tiles becomes α² independent GEMMs
//
//	M[ξ] (T×Cout) = V[ξ] (T×Cin) · U[ξ] (Cin×Cout),   ξ = 0..α²-1
//
// with V = Bᵀ d B (input transform, per tile and channel), U = G g Gᵀ
// (kernel transform, once per weight update) and the output transform
// Y = Aᵀ M A fused with bias and ReLU. F(2x2,3x3) does 16/36 = 1/2.25 of the
// direct multiplications, F(4x4,3x3) 36/144 = 1/4.
//
// Layout of the per-worker block buffers (floats):
//
//	V: [α²][T][Cin]   (position-major, so V[ξ] is a row-major T×Cin matrix)
//	M: [α²][T][Cout]
//	U: α² Cin×Cout matrices in the Plan, built once per kernel straight into
//	   kernels.PackedB form, so no GEMM call repacks them
//
// Tiles are numbered over the whole batch (image, tile row, tile col) and cut
// into blocks of T tiles; blocks are spread over GOMAXPROCS workers, each with
// a V/M buffer set from a package-wide pool, so a steady-state call allocates
// nothing (driver.go). The GEMMs are kernels.SgemmPackedBSerial calls: one
// GEMM per core, the workers already run in parallel.
//
// The transforms run in AVX-512 assembly over 16 channels per zmm register
// when the kernels' active level is avx512, in AVX2+FMA assembly over 8
// channels per ymm register on avx2 (kernels.Level: the CPU's best, or
// GOTRANSFER_KERNELS; a purego build has no assembly), with pure-Go twins
// for the channel tail (Cin or Cout not a multiple of 16 or 8) and the
// generic level.
//
// Use from a conv layer (stride 1, dilation 1, 3x3 kernel, pads 1 on all
// sides; NHWC):
//
//	// once per layer, and after every weight update of a trainable layer:
//	if l.plan == nil { l.plan = winograd.NewPlan(l.kernel, cin, cout, v) } else { l.plan.SetKernel(l.kernel) }
//	// forward, with bias and ReLU fused (bias may be nil):
//	l.plan.Forward(x, n, h, w, bias, relu, y)
//	// backward: dy' = dy ⊙ [y > 0] if ReLU was fused, then
//	l.plan.BackwardData(dy', n, h, w, dx)   // dW and db stay on the GEMM path
//
// where v, ok := winograd.Choose(n, h, w, cin, cout) for the layer's usual
// batch and image size picks F4/F2, or says to use direct convolution (too
// few tiles); keep the direct path as the reference and fallback.
package winograd

import (
	"fmt"

	"github.com/gotransfer/gotransfer/kernels"
)

// Variant selects the Winograd tile: F2 is F(2x2,3x3) (4x4 input tiles,
// 2.25x fewer multiplications, most accurate), F4 is F(4x4,3x3) (6x6 input
// tiles, 4x fewer multiplications, about 10x larger float32 rounding error —
// still within 1e-4 relative on VGG16-scale layers; see the package tests).
type Variant int

const (
	// F2 is F(2x2,3x3).
	F2 Variant = 2
	// F4 is F(4x4,3x3).
	F4 Variant = 4
)

// Default is the variant Forward and BackwardData use: F4, chosen because its
// measured relative error on every VGG16 layer shape stays below 1e-4 (see
// TestAccuracyVGG16Layers) and it does 1.8x fewer multiplications than F2.
const Default = F4

// Choose picks the variant for a stride-1 3x3 'same' convolution of n
// images of h×w, or ok = false when direct convolution (im2col/implicit
// GEMM) should be used instead. With U pre-packed, on VGG16 shapes at 224,
// batch 1 (BenchmarkWinograd against BenchmarkIm2col): F4 beats F2 from 49
// tiles up (block4) and loses at 16 (block5), where F2 (49 tiles) still
// beats im2col. Cin = 3 (the RGB layer) works too, slowly (scalar channel
// tail), but still beats im2col. cin and cout are not used yet.
func Choose(n, h, w, cin, cout int) (v Variant, ok bool) {
	tiles := func(m int) int { return n * ((h + m - 1) / m) * ((w + m - 1) / m) }
	switch {
	case tiles(4) >= minTilesF4:
		return F4, true
	case tiles(2) >= minTilesF2:
		return F2, true
	}
	return 0, false
}

// Choose's thresholds (tiles per call).
const (
	minTilesF4 = 48
	minTilesF2 = 40
)

// String returns "F2" or "F4".
func (v Variant) String() string { return fmt.Sprintf("F%d", int(v)) }

// Plan holds the transformed kernel U = G g Gᵀ of one 3x3 conv layer, so
// repeated calls transform the weights once and allocate nothing. The
// forward transform is built on the first Forward, the backward (transposed)
// one on the first BackwardData.
//
// Weights: the Plan keeps a reference to the caller's kernel slice (no
// copy). After the kernel changes (an optimizer step on a trainable layer),
// call SetKernel before the next Forward/BackwardData, or results use the old
// transform. For frozen layers build the Plan once.
//
// Memory: U takes α²·Cin·Cout floats (F4: 4x the kernel, F2: 1.8x; Cout
// rounded up to the GEMM tile width, 32), the backward transform as much
// again plus a rotated kernel copy. Release frees them (the next call
// re-transforms). The block buffers (V, M) are not per Plan: a package-wide
// pool keeps one set per concurrently running worker, each of a fixed
// workspaceBudget bytes (see blockTilesFor).
//
// A Plan is not safe for concurrent use; use one Plan per goroutine.
type Plan struct {
	variant   Variant
	cin, cout int
	kernel    []float32         // the caller's (3,3,Cin,Cout) kernel
	u         []kernels.PackedB // forward transform: α² packed Cin×Cout
	uBack     []kernels.PackedB // backward transform: α² packed Cout×Cin
	rotated   []float32         // (3,3,Cout,Cin) backward kernel
	uOK, bkOK bool              // u / uBack match kernel

	// BlockTiles, if > 0, overrides the number of tiles per block (T).
	BlockTiles int

	// Workers, if > 0, caps the goroutines that run blocks (default
	// GOMAXPROCS). When only one goroutine runs blocks, its GEMMs are
	// themselves split over GOMAXPROCS.
	Workers int

	ws   []*workspace // the workspaces of the running call (from the pool)
	job  job
	kjob kernelJob
}

// NewPlan makes a plan for kernel (3,3,cin,cout) (Keras layout:
// kernel[((kh*3+kw)*cin+ci)*cout+co]) and the given variant. It panics if
// len(kernel) != 9·cin·cout or the variant is not F2 or F4.
func NewPlan(kernel []float32, cin, cout int, v Variant) *Plan {
	if v != F2 && v != F4 {
		panic(fmt.Sprintf("winograd.NewPlan: unknown variant %d (want F2 or F4)", int(v)))
	}
	p := &Plan{variant: v, cin: cin, cout: cout}
	p.SetKernel(kernel)
	return p
}

// SetKernel points the plan at new (or updated) weights of the same shape;
// call it after every weight update of a trainable layer. The transforms
// are redone lazily by the next Forward/BackwardData (milliseconds per core
// for a 512x512 layer, split over GOMAXPROCS; BenchmarkKernelTransform).
// It panics on a wrong length.
func (p *Plan) SetKernel(kernel []float32) {
	if len(kernel) != 9*p.cin*p.cout {
		panic(fmt.Sprintf("winograd: kernel has %d floats, want 3·3·%d·%d = %d", len(kernel), p.cin, p.cout, 9*p.cin*p.cout))
	}
	p.kernel = kernel
	p.uOK, p.bkOK = false, false
}

// Release frees the plan's transformed kernels; the next call rebuilds them.
func (p *Plan) Release() {
	p.u, p.uBack, p.rotated = nil, nil, nil
	p.uOK, p.bkOK = false, false
}

// Bytes is the memory the plan holds now (transformed kernels and the
// rotated backward kernel; the transform scratch is shared by all plans).
func (p *Plan) Bytes() int {
	n := 4 * cap(p.rotated)
	for i := range p.u {
		n += p.u[i].Bytes()
	}
	for i := range p.uBack {
		n += p.uBack[i].Bytes()
	}
	return n
}

// Variant returns the plan's tile variant.
func (p *Plan) Variant() Variant { return p.variant }

// Forward computes y = conv3x3_same(x, kernel) + bias, then ReLU if relu.
// x is (n,h,w,Cin) NHWC, y (n,h,w,Cout) preallocated (overwritten), bias has
// Cout floats or is nil. Stride 1, zero padding 1 on every side.
func (p *Plan) Forward(x []float32, n, h, w int, bias []float32, relu bool, y []float32) {
	checkLen("x", x, n*h*w*p.cin)
	checkLen("y", y, n*h*w*p.cout)
	if bias != nil {
		checkLen("bias", bias, p.cout)
	}
	if !p.uOK {
		p.u = p.transform(p.u, p.kernel, p.cin, p.cout)
		p.uOK = true
	}
	p.run(x, n, h, w, p.cin, p.u, p.cout, bias, relu, y)
}

// BackwardData computes dx (n,h,w,Cin) = ∂L/∂x from dy (n,h,w,Cout) =
// ∂L/∂y for y = conv3x3_same(x, kernel) (+ bias; ReLU's backward must be
// applied to dy by the caller). The transposed convolution is itself a 3x3
// same convolution of dy with the kernel rotated 180° and Cin/Cout swapped:
//
//	dx[y,x,ci] = Σ_{kh,kw,co} dy[y+1-kh, x+1-kw, co] · w[kh,kw,ci,co]
//	           = conv3x3_same(dy, w')[y,x,ci],  w'[kh,kw,co,ci] = w[2-kh,2-kw,ci,co].
//
// dx is overwritten.
func (p *Plan) BackwardData(dy []float32, n, h, w int, dx []float32) {
	checkLen("dy", dy, n*h*w*p.cout)
	checkLen("dx", dx, n*h*w*p.cin)
	if !p.bkOK {
		p.rotated = rotateKernel(p.rotated, p.kernel, p.cin, p.cout)
		p.uBack = p.transform(p.uBack, p.rotated, p.cout, p.cin)
		p.bkOK = true
	}
	p.run(dy, n, h, w, p.cout, p.uBack, p.cin, nil, false, dx)
}

// Forward computes y = conv3x3_same(x, kernel) + bias (optional ReLU) with
// the Default variant. x (n,h,w,cin) NHWC, kernel (3,3,cin,cout) Keras
// layout, bias (cout) or nil, y (n,h,w,cout) preallocated. It transforms the
// kernel on every call and allocates; layers should keep a Plan instead.
func Forward(x []float32, n, h, w, cin int, kernel []float32, cout int, bias []float32, relu bool, y []float32) {
	NewPlan(kernel, cin, cout, Default).Forward(x, n, h, w, bias, relu, y)
}

// BackwardData computes dx (n,h,w,cin) from dy (n,h,w,cout) for the
// convolution Forward computes with the same kernel (3,3,cin,cout), using the
// Default variant. It allocates; layers should keep a Plan instead.
func BackwardData(dy []float32, n, h, w, cout int, kernel []float32, cin int, dx []float32) {
	NewPlan(kernel, cin, cout, Default).BackwardData(dy, n, h, w, dx)
}

func checkLen(name string, s []float32, want int) {
	if len(s) != want {
		panic(fmt.Sprintf("winograd: len(%s) = %d, want %d", name, len(s), want))
	}
}

// ---------------------------------------------------------------------------
// Kernel transform U = G g Gᵀ.

// gF2 and gF4 are the G matrices (α×3) of F(2x2,3x3) and F(4x4,3x3) with
// interpolation points 0, ±1 (F2) and 0, ±1, ±2 (F4), plus ∞.
var gF2 = [4][3]float64{
	{1, 0, 0},
	{0.5, 0.5, 0.5},
	{0.5, -0.5, 0.5},
	{0, 0, 1},
}

var gF4 = [6][3]float64{
	{1.0 / 4, 0, 0},
	{-1.0 / 6, -1.0 / 6, -1.0 / 6},
	{-1.0 / 6, 1.0 / 6, -1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6},
	{1.0 / 24, -1.0 / 12, 1.0 / 6},
	{0, 0, 1},
}

// transformBlock is how many input channels transformKernelRange
// transforms before storing their rows into the packed U matrices.
const transformBlock = 8

// transformKernelRange computes U for input channels [ci0, ci1) in float32
// over contiguous rows of cout, storing row ci of every U[ξ] into u[ξ]:
//
//	tmp[i][kw][:] = Σ_kh G[i][kh] · g[kh][kw][ci][:]        (α×3 rows)
//	U[i·α+j][ci][:] = Σ_kw tmp[i][kw][:] · G[j][kw]          (α² rows)
//
// The rows of transformBlock channels are computed into scratch first, then
// stored panel by panel (kernels.PackedB.RowPanel), so that each store
// writes transformBlock consecutive NR-float pieces of the packed matrix
// instead of one piece each in NR-float bits scattered over all of it. tmp
// holds at least transformTmp(alpha, cout) floats. The backward kernel is
// transformed by passing rotateKernel's output with cin and cout swapped.
func transformKernelRange(u []kernels.PackedB, tmp, kernel []float32, cin, cout, m, ci0, ci1 int) {
	alpha := m + 2
	a2 := alpha * alpha
	var g [][3]float64
	if m == 2 {
		g = gF2[:]
	} else {
		g = gF4[:]
	}
	nr, sliceRows := u[0].PanelWidth(), u[0].SliceRows()
	rows := tmp[alpha*3*cout:][:transformBlock*a2*cout] // [block ci][ξ][cout]
	for cb := ci0; cb < ci1; cb += transformBlock {
		ce := min(cb+transformBlock, ci1)
		for ci := cb; ci < ce; ci++ {
			row := func(kh, kw int) []float32 { return kernel[((kh*3+kw)*cin+ci)*cout:][:cout] }
			for i := 0; i < alpha; i++ {
				for kw := 0; kw < 3; kw++ {
					comb3(tmp[(i*3+kw)*cout:][:cout], row(0, kw), row(1, kw), row(2, kw), g[i][0], g[i][1], g[i][2])
				}
			}
			out := rows[(ci-cb)*a2*cout:]
			for i := 0; i < alpha; i++ {
				t0, t1, t2 := tmp[(i*3)*cout:][:cout], tmp[(i*3+1)*cout:][:cout], tmp[(i*3+2)*cout:][:cout]
				for j := 0; j < alpha; j++ {
					comb3(out[(i*alpha+j)*cout:][:cout], t0, t1, t2, g[j][0], g[j][1], g[j][2])
				}
			}
		}
		// Runs of rows within one k slice of the packed layout.
		for r0 := cb; r0 < ce; {
			r1 := min(ce, (r0/sliceRows+1)*sliceRows)
			for xi := range a2 {
				for q0 := 0; q0 < cout; q0 += nr {
					w := min(nr, cout-q0)
					dst := u[xi].RowPanels(r0, r1-r0, q0/nr)
					for ci := r0; ci < r1; ci++ {
						copy(dst[(ci-r0)*nr:][:w], rows[((ci-cb)*a2+xi)*cout+q0:][:w])
					}
				}
			}
			r0 = r1
		}
	}
}

// transformTmp is the scratch transformKernelRange needs.
func transformTmp(alpha, cout int) int { return (alpha*3 + transformBlock*alpha*alpha) * cout }

// comb3 sets dst = ga·a + gb·b + gc·c (all of len(dst)): assembly on the
// multiple-of-16 head on the avx512 level (of 8 on avx2), comb3Go on the rest.
func comb3(dst, a, b, c []float32, ga, gb, gc float64) {
	fa, fb, fc := float32(ga), float32(gb), float32(gc)
	a, b, c = a[:len(dst)], b[:len(dst)], c[:len(dst)]
	w := asmWidth()
	head := len(dst) &^ (w - 1)
	if w > 0 && head > 0 {
		if w == 16 {
			comb3AVX512(&dst[0], &a[0], &b[0], &c[0], head, fa, fb, fc)
		} else {
			comb3AVX2(&dst[0], &a[0], &b[0], &c[0], head, fa, fb, fc)
		}
	}
	comb3Go(dst[head:], a[head:], b[head:], c[head:], fa, fb, fc)
}

// comb3Go is the pure-Go twin of comb3AVX512 and comb3AVX2.
func comb3Go(dst, a, b, c []float32, fa, fb, fc float32) {
	a, b, c = a[:len(dst)], b[:len(dst)], c[:len(dst)]
	for x := range dst {
		dst[x] = fa*a[x] + fb*b[x] + fc*c[x]
	}
}

// rotateKernel writes the backward kernel g'[kh][kw][co][ci] =
// g[2-kh][2-kw][ci][co] (3,3,cout,cin) of the (3,3,cin,cout) kernel g.
func rotateKernel(dst, kernel []float32, cin, cout int) []float32 {
	dst = grow(dst, 9*cin*cout)
	// A blocked transpose per tap: 16×16 blocks keep both the rows read and
	// the rows written in L1 (a plain column walk misses on every element).
	const blk = 16
	for t := 0; t < 9; t++ {
		src := kernel[(8-t)*cin*cout:][:cin*cout]
		d := dst[t*cin*cout:][:cin*cout]
		for c0 := 0; c0 < cin; c0 += blk {
			for o0 := 0; o0 < cout; o0 += blk {
				for ci := c0; ci < min(c0+blk, cin); ci++ {
					row := src[ci*cout+o0 : ci*cout+min(o0+blk, cout)]
					for k, v := range row {
						d[(o0+k)*cin+ci] = v
					}
				}
			}
		}
	}
	return dst
}
