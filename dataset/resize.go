package dataset

import "math"

// Load-time resizing that reproduces PIL's Image.resize (Pillow 9.x) for
// 8-bit images, which is what Keras's load_img calls:
//
//   - nearest: PIL's ImagingScaleAffine. With scale = in/out, source index
//     = int(x0) where x0 starts at scale/2 and grows by scale per output
//     pixel (accumulated in float64, as PIL does).
//   - bilinear and bicubic: PIL's two-pass convolution (ImagingResample).
//     Each output pixel xx has center = (xx+0.5)·scale; the filter is
//     stretched by max(scale, 1) (so downscaling antialiases), weights are
//     normalised, turned into 22-bit fixed point, and the sums are rounded
//     and clipped to 0..255. Horizontal pass first, then vertical.
//     Bilinear is the triangle filter (support 1); bicubic is Keys' cubic
//     with a = −0.5 (support 2).

// resizeImage returns p resized to outW×outH with the named method. It
// returns p itself when the size already matches (PIL copies).
func resizeImage(p pixels, outW, outH int, method string) pixels {
	if p.w == outW && p.h == outH {
		return p
	}
	if method == "nearest" {
		return resizeNearest(p, outW, outH)
	}
	f := bilinearFilter
	if method == "bicubic" {
		f = bicubicFilter
	}
	tmp := p
	if outW != p.w {
		tmp = resampleHorizontal(p, outW, f)
	}
	if outH != p.h {
		tmp = resampleVertical(tmp, outH, f)
	}
	return tmp
}

// nearestIndex is PIL's ImagingScaleAffine index table: output index x
// reads input int(x0), x0 = scale/2 + x·scale accumulated in float64.
func nearestIndex(in, out int) []int {
	idx := make([]int, out)
	s := float64(in) / float64(out)
	x0 := s * 0.5
	for x := range idx {
		idx[x] = min(int(x0), in-1)
		x0 += s
	}
	return idx
}

func resizeNearest(p pixels, outW, outH int) pixels {
	c := p.c
	out := pixels{w: outW, h: outH, c: c, pix: make([]uint8, outW*outH*c)}
	xs, ys := nearestIndex(p.w, outW), nearestIndex(p.h, outH)
	for y, yi := range ys {
		src := p.pix[yi*p.w*c : (yi+1)*p.w*c]
		dst := out.pix[y*outW*c : (y+1)*outW*c]
		if c == 3 {
			for x, xi := range xs {
				dst[3*x], dst[3*x+1], dst[3*x+2] = src[3*xi], src[3*xi+1], src[3*xi+2]
			}
		} else {
			for x, xi := range xs {
				dst[x] = src[xi]
			}
		}
	}
	return out
}

type resampleFilter struct {
	support float64
	f       func(x float64) float64
}

var bilinearFilter = resampleFilter{1, func(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}}

var bicubicFilter = resampleFilter{2, func(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}}

const precisionBits = 32 - 8 - 2

// coeffs is PIL's precompute_coeffs + normalize_coeffs_8bpc: for output
// index xx, taps bounds[2xx] .. bounds[2xx]+bounds[2xx+1]-1 with fixed-point
// weights k[xx·ksize + j].
func coeffs(inSize, outSize int, f resampleFilter) (ksize int, bounds []int, k []int32) {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := f.support * filterscale
	ksize = int(math.Ceil(support))*2 + 1
	bounds = make([]int, 2*outSize)
	k = make([]int32, outSize*ksize)
	w := make([]float64, ksize)
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := max(int(center-support+0.5), 0) // int() truncates toward zero, as C
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w[x] = f.f((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[xx*ksize+x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[xx*ksize+x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		bounds[2*xx], bounds[2*xx+1] = xmin, xmax
	}
	return ksize, bounds, k
}

func clipFixed(v int32) uint8 {
	if v >= 1<<precisionBits<<8 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> precisionBits)
}

// coefficients are one axis's precomputed filter taps (see coeffs).
type coefficients struct {
	ksize  int
	bounds []int
	k      []int32
	out    int
}

func newCoefficients(in, out int, f resampleFilter) *coefficients {
	ksize, bounds, k := coeffs(in, out, f)
	return &coefficients{ksize, bounds, k, out}
}

// resampleRow is one row of PIL's horizontal pass: src holds in·c samples,
// dst receives out·c.
func (cf *coefficients) resampleRow(dst, src []uint8, c int) {
	var ss [3]int32
	for xx := 0; xx < cf.out; xx++ {
		xmin, n := cf.bounds[2*xx], cf.bounds[2*xx+1]
		kk := cf.k[xx*cf.ksize : xx*cf.ksize+n]
		for ch := 0; ch < c; ch++ {
			ss[ch] = 1 << (precisionBits - 1)
		}
		for x, w := range kk {
			s := src[(xmin+x)*c:]
			for ch := 0; ch < c; ch++ {
				ss[ch] += int32(s[ch]) * w
			}
		}
		for ch := 0; ch < c; ch++ {
			dst[xx*c+ch] = clipFixed(ss[ch])
		}
	}
}

func resampleHorizontal(p pixels, outW int, f resampleFilter) pixels {
	cf := newCoefficients(p.w, outW, f)
	c := p.c
	out := pixels{w: outW, h: p.h, c: c, pix: make([]uint8, outW*p.h*c)}
	for y := 0; y < p.h; y++ {
		cf.resampleRow(out.pix[y*outW*c:(y+1)*outW*c], p.pix[y*p.w*c:(y+1)*p.w*c], c)
	}
	return out
}

func resampleVertical(p pixels, outH int, f resampleFilter) pixels {
	ksize, bounds, k := coeffs(p.h, outH, f)
	c := p.c
	rowLen := p.w * c
	out := pixels{w: p.w, h: outH, c: c, pix: make([]uint8, rowLen*outH)}
	acc := make([]int32, rowLen)
	for yy := 0; yy < outH; yy++ {
		ymin, n := bounds[2*yy], bounds[2*yy+1]
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		for y, w := range k[yy*ksize : yy*ksize+n] {
			src := p.pix[(ymin+y)*rowLen : (ymin+y+1)*rowLen]
			for i, v := range src {
				acc[i] += int32(v) * w
			}
		}
		dst := out.pix[yy*rowLen : (yy+1)*rowLen]
		for i, v := range acc {
			dst[i] = clipFixed(v)
		}
	}
	return out
}
