package kernels

import "fmt"

// Small vector kernels for the layers and optimizers, dispatched to the
// active level (AVX2 assembly on the avx2 and avx512 levels, pure Go on
// generic). They panic when the lengths do not match. Long slices are
// processed in chunks of vecChunk floats so that no single assembly call
// runs long enough to hold up the scheduler or the GC.

// vecChunk bounds one assembly call: 64 Ki floats, tens of microseconds.
const vecChunk = 1 << 16

// AddBias adds bias to every row of x, a row-major matrix with len(bias)
// columns: x[r*len(bias)+j] += bias[j]. len(x) must be a multiple of
// len(bias).
func AddBias(x, bias []float32) {
	n := len(bias)
	if n == 0 {
		if len(x) != 0 {
			panic("kernels: AddBias with empty bias and non-empty x")
		}
		return
	}
	if len(x)%n != 0 {
		panic(fmt.Sprintf("kernels: AddBias: len(x) = %d is not a multiple of len(bias) = %d", len(x), n))
	}
	add := active.Load().vec.add
	for r := 0; r < len(x); r += n {
		add(x[r:r+n], bias)
	}
}

// Relu sets dst[i] = max(src[i], 0) (NaN gives 0); dst and src have equal
// length and may be the same slice.
func Relu(dst, src []float32) {
	checkLen("Relu", len(dst), len(src))
	relu := active.Load().vec.relu
	for i := 0; i < len(src); i += vecChunk {
		e := min(i+vecChunk, len(src))
		relu(dst[i:e], src[i:e])
	}
}

// ReluBackward sets dx[i] = dy[i] where y[i] > 0, else 0: the gradient of
// y = relu(x) given the forward output y. All three have equal length; dx may
// alias dy.
func ReluBackward(dx, dy, y []float32) {
	checkLen("ReluBackward", len(dx), len(dy))
	checkLen("ReluBackward", len(dx), len(y))
	back := active.Load().vec.reluBackward
	for i := 0; i < len(dx); i += vecChunk {
		e := min(i+vecChunk, len(dx))
		back(dx[i:e], dy[i:e], y[i:e])
	}
}

// ReluMask records y > 0 as bits: bit i%16 of mask[i/16] is 1 where
// y[i] > 0 (NaN gives 0), for i < len(y); the bits past len(y) in the last
// word are 0. len(mask) must be (len(y)+15)/16. A fused-ReLU layer keeps
// this mask, 1 bit per output, instead of its output for the backward pass.
func ReluMask(mask []uint16, y []float32) {
	if len(mask) != (len(y)+15)/16 {
		panic(fmt.Sprintf("kernels: ReluMask: len(mask) = %d, want (len(y)+15)/16 = %d", len(mask), (len(y)+15)/16))
	}
	full := len(y) / 16 * 16
	rm := active.Load().vec.reluMask
	for i := 0; i < full; i += vecChunk {
		e := min(i+vecChunk, full)
		rm(mask[i/16:e/16], y[i:e])
	}
	if full < len(y) {
		reluMaskGo(mask[full/16:], y[full:])
	}
}

// ReluBackwardMask sets dx[i] = dy[i] where bit i%16 of mask[i/16] is set,
// else 0: ReluBackward with the mask that ReluMask recorded for y. dx and
// dy have equal length, dx may alias dy, len(mask) = (len(dx)+15)/16.
func ReluBackwardMask(dx, dy []float32, mask []uint16) {
	checkLen("ReluBackwardMask", len(dx), len(dy))
	if len(mask) != (len(dx)+15)/16 {
		panic(fmt.Sprintf("kernels: ReluBackwardMask: len(mask) = %d, want (len(dx)+15)/16 = %d", len(mask), (len(dx)+15)/16))
	}
	full := len(dx) / 16 * 16
	back := active.Load().vec.reluBackwardMask
	for i := 0; i < full; i += vecChunk {
		e := min(i+vecChunk, full)
		back(dx[i:e], dy[i:e], mask[i/16:e/16])
	}
	if full < len(dx) {
		reluBackwardMaskGo(dx[full:], dy[full:], mask[full/16:])
	}
}

// Axpy sets y[i] += alpha·x[i]; x and y have equal length.
func Axpy(alpha float32, x, y []float32) {
	checkLen("Axpy", len(x), len(y))
	axpy := active.Load().vec.axpy
	for i := 0; i < len(x); i += vecChunk {
		e := min(i+vecChunk, len(x))
		axpy(alpha, x[i:e], y[i:e])
	}
}

// Scale sets x[i] *= alpha.
func Scale(alpha float32, x []float32) {
	scale := active.Load().vec.scale
	for i := 0; i < len(x); i += vecChunk {
		scale(alpha, x[i:min(i+vecChunk, len(x))])
	}
}

// Sum returns Σ x[i], accumulated in float32 over several partial sums.
func Sum(x []float32) float32 {
	sum := active.Load().vec.sum
	var s float32
	for i := 0; i < len(x); i += vecChunk {
		s += sum(x[i:min(i+vecChunk, len(x))])
	}
	return s
}

// Dot returns Σ x[i]·y[i] accumulated in float32; x and y have equal length.
func Dot(x, y []float32) float32 {
	checkLen("Dot", len(x), len(y))
	dot := active.Load().vec.dot
	var s float32
	for i := 0; i < len(x); i += vecChunk {
		e := min(i+vecChunk, len(x))
		s += dot(x[i:e], y[i:e])
	}
	return s
}

func checkLen(name string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("kernels: %s: slice lengths differ (%d vs %d)", name, a, b))
	}
}
