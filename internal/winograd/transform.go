package winograd

import "math"

// Pure-Go input and output transforms, one tile at a time, looping over
// channels. They are the reference twins of the AVX-512 and AVX2 routines
// and handle the channel tail (channels past the last multiple of the
// assembly's width, 16 or 8) on every CPU.
//
// Strides are in floats. For a tile:
//
//	input  d[i][j][c] = src[i*rowStride + j*colStride + c]          (α×α×nc)
//	V      V[ξ][c]    = dst[ξ*posStride + c],  ξ = i*α + j           (α²×nc)
//	M      M[ξ][c]    = src[ξ*posStride + c]                         (α²×nc)
//	output y[i][j][c] = dst[i*rowStride + j*colStride + c]          (m×m×nc)

// inputFunc transforms channels [0, nc) of one α×α input tile into V.
type inputFunc func(src []float32, rowStride, colStride int, dst []float32, posStride, nc int)

// outputFunc transforms channels [0, nc) of one tile's M into the m×m output,
// adding bias[c] and clamping at 0 when relu.
type outputFunc func(src []float32, posStride int, dst []float32, rowStride, colStride, nc int, bias []float32, relu bool)

// F(2x2,3x3) matrices (points 0, 1, -1, ∞):
//
//	Bᵀ = [1  0 -1  0]     Aᵀ = [1 1  1  0]
//	     [0  1  1  0]          [0 1 -1 -1]
//	     [0 -1  1  0]
//	     [0  1  0 -1]

// bt4 applies Bᵀ (F2) to x in place.
func bt4(x *[4]float32) {
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	x[0] = x0 - x2
	x[1] = x1 + x2
	x[2] = x2 - x1
	x[3] = x1 - x3
}

// inputF2Go: V = Bᵀ d B for channels [c0, c1).
func inputF2Go(src []float32, rowStride, colStride int, dst []float32, posStride, c0, c1 int) {
	var d [4][4]float32
	var col [4]float32
	for c := c0; c < c1; c++ {
		for i := 0; i < 4; i++ {
			for j := 0; j < 4; j++ {
				d[i][j] = src[i*rowStride+j*colStride+c]
			}
		}
		for i := 0; i < 4; i++ { // rows: d ← d B (Bᵀ applied to each row)
			bt4(&d[i])
		}
		for j := 0; j < 4; j++ { // columns: d ← Bᵀ d
			col = [4]float32{d[0][j], d[1][j], d[2][j], d[3][j]}
			bt4(&col)
			for i := 0; i < 4; i++ {
				dst[(i*4+j)*posStride+c] = col[i]
			}
		}
	}
}

// outputF2Go: y = Aᵀ M A + bias (ReLU) for channels [c0, c1).
func outputF2Go(src []float32, posStride int, dst []float32, rowStride, colStride, c0, c1 int, bias []float32, relu bool) {
	var t [2][4]float32
	for c := c0; c < c1; c++ {
		for j := 0; j < 4; j++ { // columns: t = Aᵀ M (2×4)
			m0, m1, m2, m3 := src[(0+j)*posStride+c], src[(4+j)*posStride+c], src[(8+j)*posStride+c], src[(12+j)*posStride+c]
			t[0][j] = m0 + m1 + m2
			t[1][j] = m1 - m2 - m3
		}
		for i := 0; i < 2; i++ { // rows: y = t A (2×2)
			y0 := t[i][0] + t[i][1] + t[i][2] + bias[c]
			y1 := t[i][1] - t[i][2] - t[i][3] + bias[c]
			if relu {
				y0, y1 = reluf(y0), reluf(y1)
			}
			dst[i*rowStride+c] = y0
			dst[i*rowStride+colStride+c] = y1
		}
	}
}

// F(4x4,3x3) matrices (points 0, 1, -1, 2, -2, ∞):
//
//	Bᵀ = [4  0 -5  0  1  0]     Aᵀ = [1 1  1 1  1 0]
//	     [0 -4 -4  1  1  0]          [0 1 -1 2 -2 0]
//	     [0  4 -4 -1  1  0]          [0 1  1 4  4 0]
//	     [0 -2 -1  2  1  0]          [0 1 -1 8 -8 1]
//	     [0  2 -1 -2  1  0]
//	     [0  4  0 -5  0  1]

// bt6 applies Bᵀ (F4) to x in place, with the factorisation the assembly uses.
func bt6(x *[6]float32) {
	x0, x1, x2, x3, x4, x5 := x[0], x[1], x[2], x[3], x[4], x[5]
	t0 := x4 - 4*x2
	t1 := x3 - 4*x1
	t2 := x4 - x2
	t3 := x3 - x1
	x[0] = x4 + 4*x0 - 5*x2
	x[1] = t1 + t0
	x[2] = t0 - t1
	x[3] = t2 + 2*t3
	x[4] = t2 - 2*t3
	x[5] = x5 + 4*x1 - 5*x3
}

// at6 applies Aᵀ (F4): 6 values to 4.
func at6(m0, m1, m2, m3, m4, m5 float32) (y0, y1, y2, y3 float32) {
	a, b := m1+m2, m1-m2
	c, d := m3+m4, m3-m4
	return m0 + a + c, b + 2*d, a + 4*c, b + 8*d + m5
}

// inputF4Go: V = Bᵀ d B for channels [c0, c1).
func inputF4Go(src []float32, rowStride, colStride int, dst []float32, posStride, c0, c1 int) {
	var d [6][6]float32
	var col [6]float32
	for c := c0; c < c1; c++ {
		for i := 0; i < 6; i++ {
			for j := 0; j < 6; j++ {
				d[i][j] = src[i*rowStride+j*colStride+c]
			}
		}
		for i := 0; i < 6; i++ {
			bt6(&d[i])
		}
		for j := 0; j < 6; j++ {
			col = [6]float32{d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j]}
			bt6(&col)
			for i := 0; i < 6; i++ {
				dst[(i*6+j)*posStride+c] = col[i]
			}
		}
	}
}

// outputF4Go: y = Aᵀ M A + bias (ReLU) for channels [c0, c1).
func outputF4Go(src []float32, posStride int, dst []float32, rowStride, colStride, c0, c1 int, bias []float32, relu bool) {
	var t [4][6]float32
	for c := c0; c < c1; c++ {
		for j := 0; j < 6; j++ { // columns: t = Aᵀ M (4×6)
			t[0][j], t[1][j], t[2][j], t[3][j] = at6(
				src[(0+j)*posStride+c], src[(6+j)*posStride+c], src[(12+j)*posStride+c],
				src[(18+j)*posStride+c], src[(24+j)*posStride+c], src[(30+j)*posStride+c])
		}
		for i := 0; i < 4; i++ { // rows: y = t A (4×4)
			y := [4]float32{}
			y[0], y[1], y[2], y[3] = at6(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5])
			for jj := 0; jj < 4; jj++ {
				v := y[jj] + bias[c]
				if relu {
					v = reluf(v)
				}
				dst[i*rowStride+jj*colStride+c] = v
			}
		}
	}
}

// reluf is max(v, 0), keeping NaN.
func reluf(v float32) float32 {
	if v < 0 {
		return 0
	}
	return v
}

// inputTransform returns the input transform for tile size m: the assembly
// routine (if the kernel level has one) on the channels up to the last
// multiple of asmWidth(), the Go twin on the rest.
func inputTransform(m int) inputFunc {
	if m == 2 {
		return inputF2
	}
	return inputF4
}

// outputTransform is inputTransform's counterpart for the output transform.
func outputTransform(m int) outputFunc {
	if m == 2 {
		return outputF2
	}
	return outputF4
}

func inputF2(src []float32, rowStride, colStride int, dst []float32, posStride, nc int) {
	w := asmWidth()
	head := nc &^ (w - 1) // the multiple-of-w channels the assembly does (0 when w = 0)
	if w > 0 && head > 0 {
		// Bounds: the last element read/written by the assembly.
		_ = src[3*rowStride+3*colStride+head-1]
		_ = dst[15*posStride+head-1]
		if w == 16 {
			inputF2AVX512(&src[0], rowStride, colStride, &dst[0], posStride, head)
		} else {
			inputF2AVX2(&src[0], rowStride, colStride, &dst[0], posStride, head)
		}
	}
	inputF2Go(src, rowStride, colStride, dst, posStride, head, nc)
}

func inputF4(src []float32, rowStride, colStride int, dst []float32, posStride, nc int) {
	w := asmWidth()
	head := nc &^ (w - 1)
	if w > 0 && head > 0 {
		_ = src[5*rowStride+5*colStride+head-1]
		_ = dst[35*posStride+head-1]
		if w == 16 {
			inputF4AVX512(&src[0], rowStride, colStride, &dst[0], posStride, head)
		} else {
			inputF4AVX2(&src[0], rowStride, colStride, &dst[0], posStride, head)
		}
	}
	inputF4Go(src, rowStride, colStride, dst, posStride, head, nc)
}

func outputF2(src []float32, posStride int, dst []float32, rowStride, colStride, nc int, bias []float32, relu bool) {
	w := asmWidth()
	head := nc &^ (w - 1)
	if w > 0 && head > 0 {
		_ = src[15*posStride+head-1]
		_ = dst[rowStride+colStride+head-1]
		_ = bias[head-1]
		if w == 16 {
			outputF2AVX512(&src[0], posStride, &dst[0], rowStride, colStride, head, &bias[0], reluFloor(relu))
		} else {
			outputF2AVX2(&src[0], posStride, &dst[0], rowStride, colStride, head, &bias[0], reluFloor(relu))
		}
	}
	outputF2Go(src, posStride, dst, rowStride, colStride, head, nc, bias, relu)
}

func outputF4(src []float32, posStride int, dst []float32, rowStride, colStride, nc int, bias []float32, relu bool) {
	w := asmWidth()
	head := nc &^ (w - 1)
	if w > 0 && head > 0 {
		_ = src[35*posStride+head-1]
		_ = dst[3*rowStride+3*colStride+head-1]
		_ = bias[head-1]
		if w == 16 {
			outputF4AVX512(&src[0], posStride, &dst[0], rowStride, colStride, head, &bias[0], reluFloor(relu))
		} else {
			outputF4AVX2(&src[0], posStride, &dst[0], rowStride, colStride, head, &bias[0], reluFloor(relu))
		}
	}
	outputF4Go(src, posStride, dst, rowStride, colStride, head, nc, bias, relu)
}

// reluFloor is the lower clamp the assembly applies with VMAXPS: 0 for ReLU,
// -Inf (no clamp) otherwise.
func reluFloor(relu bool) float32 {
	if relu {
		return 0
	}
	return float32(math.Inf(-1))
}
