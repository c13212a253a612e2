package kernels

// Pure-Go small kernels. They are the generic level's implementation and the
// reference twins the assembly versions are tested against.

// axpyGo: y[i] += alpha·x[i] for i < len(x).
func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// scaleGo: x[i] *= alpha.
func scaleGo(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// addGo: dst[i] += src[i] for i < len(src).
func addGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// reluGo: dst[i] = max(src[i], 0); NaN becomes 0.
func reluGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		if v > 0 {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

// reluBackwardGo: dx[i] = dy[i] where y[i] > 0, else 0.
func reluBackwardGo(dx, dy, y []float32) {
	dy = dy[:len(dx)]
	y = y[:len(dx)]
	for i := range dx {
		if y[i] > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// sumGo returns Σ x[i], accumulated in float32 over 8 interleaved partial
// sums (the same association as the assembly twin's lanes, up to the final
// reduction).
func sumGo(x []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for l := range 8 {
			s[l] += x[i+l]
		}
	}
	var t float32
	for ; i < len(x); i++ {
		t += x[i]
	}
	return (s[0] + s[1] + s[2] + s[3]) + (s[4] + s[5] + s[6] + s[7]) + t
}

// dotGo returns Σ x[i]·y[i] for i < len(x), 8 interleaved partial sums.
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for l := range 8 {
			s[l] += x[i+l] * y[i+l]
		}
	}
	var t float32
	for ; i < len(x); i++ {
		t += x[i] * y[i]
	}
	return (s[0] + s[1] + s[2] + s[3]) + (s[4] + s[5] + s[6] + s[7]) + t
}

// reluMaskGo: bit b of mask[w] = y[16w+b] > 0 (0 past len(y)).
func reluMaskGo(mask []uint16, y []float32) {
	for w := range mask {
		var m uint16
		for b := 0; b < 16 && w*16+b < len(y); b++ {
			if y[w*16+b] > 0 {
				m |= 1 << b
			}
		}
		mask[w] = m
	}
}

// reluBackwardMaskGo: dx[i] = dy[i] where bit i%16 of mask[i/16] is set, else 0.
func reluBackwardMaskGo(dx, dy []float32, mask []uint16) {
	for i := range dx {
		if mask[i/16]>>(i%16)&1 != 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}
