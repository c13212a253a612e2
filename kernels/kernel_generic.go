package kernels

import "unsafe"

// genericLevel is the pure-Go level: a 4×4 micro-kernel over the same packed
// layouts as the assembly levels, and the pure-Go small kernels.
var genericLevel = &kernelLevel{
	name: "generic", mr: 4, nr: 4, kcMax: 256, bPanel: 128 << 10,
	kernel: sgemmKernel4x4Go, vec: genericVec,
}

// genericVec are the pure-Go small kernels (vector_generic.go).
var genericVec = vecKernels{
	axpy: axpyGo, scale: scaleGo, add: addGo, relu: reluGo,
	reluBackward: reluBackwardGo,
	reluMask:     reluMaskGo, reluBackwardMask: reluBackwardMaskGo, sum: sumGo, dot: dotGo,
}

// sgemmKernel4x4Go is the pure-Go micro-kernel (see microKernel): a 4×4
// tile computed as two 2×4 register blocks.
func sgemmKernel4x4Go(k int, ap *float32, lda int, bp *float32, cp *float32, ldc int, beta float32, biasp *float32, flags int, _ *kernelAux) {
	if k <= 0 {
		k = 0
	}
	a := unsafe.Slice(ap, 3*lda+k)
	var acc [16]float32
	// Two passes of 2 rows × 4 columns: 8 accumulators + 4 B values + 1 A
	// value fit the 15 float registers Go has; B is re-read from L1.
	for half := 0; half < 2; half++ {
		r := 2 * half
		a0, a1 := a[r*lda:r*lda+k:r*lda+k], a[(r+1)*lda:(r+1)*lda+k:(r+1)*lda+k]
		b := unsafe.Slice(bp, 4*k)
		var c00, c01, c02, c03 float32
		var c10, c11, c12, c13 float32
		for p := 0; p < len(a0) && p < len(a1) && len(b) >= 4; p++ {
			b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
			b = b[4:]
			x, y := a0[p], a1[p]
			c00 += x * b0
			c01 += x * b1
			c02 += x * b2
			c03 += x * b3
			c10 += y * b0
			c11 += y * b1
			c12 += y * b2
			c13 += y * b3
		}
		acc[4*r], acc[4*r+1], acc[4*r+2], acc[4*r+3] = c00, c01, c02, c03
		acc[4*r+4], acc[4*r+5], acc[4*r+6], acc[4*r+7] = c10, c11, c12, c13
	}
	c := unsafe.Slice(cp, 3*ldc+4)
	var bias []float32
	if biasp != nil {
		bias = unsafe.Slice(biasp, 4)
	}
	for i := range 4 {
		row := c[i*ldc : i*ldc+4 : i*ldc+4]
		for j := range 4 {
			v := acc[4*i+j]
			if flags&flagBeta != 0 {
				v += beta * row[j]
			}
			if bias != nil {
				v += bias[j]
			}
			if flags&flagReLU != 0 && !(v > 0) {
				v = 0
			}
			row[j] = v
		}
	}
}
