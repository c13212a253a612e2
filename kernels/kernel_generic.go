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
	reluBackward: reluBackwardGo, sum: sumGo, dot: dotGo,
}

// sgemmKernel4x4Go is the pure-Go micro-kernel (see microKernel): 16 scalar
// accumulators, A rows broadcast, one 4-float row of packed B per step.
func sgemmKernel4x4Go(k int, ap *float32, lda int, bp *float32, cp *float32, ldc int, beta float32, biasp *float32, flags int, _ *[3]prefetchPlan) {
	if k <= 0 {
		k = 0
	}
	a := unsafe.Slice(ap, 3*lda+k)
	a0, a1, a2, a3 := a[0:k], a[lda:lda+k], a[2*lda:2*lda+k], a[3*lda:3*lda+k]
	b := unsafe.Slice(bp, 4*k)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p := range k {
		bb := b[4*p : 4*p+4 : 4*p+4]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		x := a0[p]
		c00 += x * b0
		c01 += x * b1
		c02 += x * b2
		c03 += x * b3
		x = a1[p]
		c10 += x * b0
		c11 += x * b1
		c12 += x * b2
		c13 += x * b3
		x = a2[p]
		c20 += x * b0
		c21 += x * b1
		c22 += x * b2
		c23 += x * b3
		x = a3[p]
		c30 += x * b0
		c31 += x * b1
		c32 += x * b2
		c33 += x * b3
	}
	acc := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
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
