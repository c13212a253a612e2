package dataset

import "image"

// YCbCr → RGB the way the libraries behind PIL do it, for images Go's
// decoders return as *image.YCbCr. Go's own conversion replicates chroma
// samples and uses JFIF full-range maths for everything; PIL instead gets:
//
//   - JPEG (libjpeg-turbo, default settings): "fancy" triangular chroma
//     upsampling, then JFIF full-range YCbCr→RGB with 16-bit fixed-point
//     tables (jdcolor.c);
//   - lossy WebP (libwebp): its own fancy upsampler, then BT.601
//     limited-range ("studio swing") YUV→RGB with 14-bit constants
//     (dsp/yuv.h). Go's x/image/webp hands back the raw YUV planes, so
//     converting them as JFIF (Go's default) is off by ~10 levels.
//
// Both upsamplers weigh the nearer chroma sample 3/4 and the farther 1/4
// along each subsampled axis. For output index i the nearer sample is i>>1
// and the farther one is i>>1 − 1 (i even) or i>>1 + 1 (i odd), clamped to
// the plane (libjpeg's edge context rows and libwebp's edge handling both
// amount to that, except where noted).

// chromaNeighbours returns the nearer and farther chroma index for output
// index i on an axis with n chroma samples.
func chromaNeighbours(i, n int) (near, far int) {
	near = i >> 1
	if i&1 == 0 {
		far = near - 1
	} else {
		far = near + 1
	}
	near = min(near, n-1)
	far = max(0, min(far, n-1))
	return near, far
}

// jpegFetcher converts a JPEG-decoded YCbCr image like libjpeg-turbo.
// Subsampling ratios other than 4:4:4, 4:2:2 (h2v1), 4:2:0 (h2v2) and
// 4:4:0 (h1v2) fall back to Go's replication.
func jpegFetcher(m *image.YCbCr) rgbFetch {
	if m.Rect.Min != (image.Point{}) {
		return rgbFetcher(m)
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := w, h
	var hsub, vsub bool
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		hsub, cw = true, (w+1)/2
	case image.YCbCrSubsampleRatio420:
		hsub, vsub, cw, ch = true, true, (w+1)/2, (h+1)/2
	case image.YCbCrSubsampleRatio440:
		vsub, ch = true, (h+1)/2
	default:
		return rgbFetcher(m)
	}
	// upsample returns the chroma value of plane p at output (x, y) with
	// libjpeg's rounding: h2v1 (3n+f+1 or +2)>>2, h1v2 likewise, h2v2
	// column sums c = 3·near_row + far_row, then (3c_near + c_far + 8 or 7)>>4.
	upsample := func(p []uint8, x, y int) int {
		switch {
		case hsub && vsub:
			ny, fy := chromaNeighbours(y, ch)
			nx, fx := chromaNeighbours(x, cw)
			colsum := func(cx int) int { return 3*int(p[ny*m.CStride+cx]) + int(p[fy*m.CStride+cx]) }
			bias := 8
			if x&1 == 1 {
				bias = 7
			}
			return (3*colsum(nx) + colsum(fx) + bias) >> 4
		case hsub:
			nx, fx := chromaNeighbours(x, cw)
			bias := 1
			if x&1 == 1 {
				bias = 2
			}
			if cw == 1 {
				return int(p[y*m.CStride])
			}
			return (3*int(p[y*m.CStride+nx]) + int(p[y*m.CStride+fx]) + bias) >> 2
		case vsub:
			ny, fy := chromaNeighbours(y, ch)
			bias := 1
			if y&1 == 1 {
				bias = 2
			}
			return (3*int(p[ny*m.CStride+x]) + int(p[fy*m.CStride+x]) + bias) >> 2
		}
		return int(p[y*m.CStride+x])
	}
	return func(x, y int) (uint8, uint8, uint8) {
		yy := int(m.Y[y*m.YStride+x])
		cb := upsample(m.Cb, x, y) - 128
		cr := upsample(m.Cr, x, y) - 128
		// jdcolor.c: R = y + round(1.402·cr); G = y + ((−0.34414·cb −
		// 0.71414·cr + ½) >> 16 in fixed point); B = y + round(1.772·cb).
		const half = 1 << 15
		r := yy + ((91881*cr + half) >> 16)
		g := yy + ((-22554*cb - 46802*cr + half) >> 16)
		b := yy + ((116130*cb + half) >> 16)
		return clip8(r), clip8(g), clip8(b)
	}
}

// webpFetcher converts x/image/webp's 4:2:0 YUV planes like libwebp's
// default (fancy upsampling) RGB output.
func webpFetcher(m *image.YCbCr) rgbFetch {
	if m.Rect.Min != (image.Point{}) || m.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return rgbFetcher(m)
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	upsample := func(p []uint8, x, y int) int {
		ny, fy := chromaNeighbours(y, ch)
		if y == 0 {
			fy = ny // the first row pairs chroma row 0 with itself
		}
		nx, fx := chromaNeighbours(x, cw)
		nn, fn := int(p[ny*m.CStride+nx]), int(p[fy*m.CStride+nx])
		if x == 0 || (w&1 == 0 && x == w-1) {
			// Edge columns: vertical interpolation only.
			return (3*nn + fn + 2) >> 2
		}
		nf, ff := int(p[ny*m.CStride+fx]), int(p[fy*m.CStride+fx])
		return (((nn + 3*nf + 3*fn + ff + 8) >> 3) + nn) >> 1
	}
	return func(x, y int) (uint8, uint8, uint8) {
		yy := int(m.Y[y*m.YStride+x])
		u := upsample(m.Cb, x, y)
		v := upsample(m.Cr, x, y)
		yv := (yy * 19077) >> 8
		return webpClip(yv + ((v * 26149) >> 8) - 14234),
			webpClip(yv - ((u * 6419) >> 8) - ((v * 13320) >> 8) + 8708),
			webpClip(yv + ((u * 33050) >> 8) - 17685)
	}
}

// webpClip is libwebp's VP8Clip8: 6 fractional bits, clamped to 0..255.
func webpClip(v int) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// libjpeg's jdcolor.c tables: R = Y + crR[Cr], B = Y + cbB[Cb],
// G = Y + ((cbG[Cb] + crG[Cr]) >> 16).
var crR, cbB, cbG, crG [256]int

func init() {
	const half = 1 << 15
	for i := range crR {
		x := i - 128
		crR[i] = (91881*x + half) >> 16
		cbB[i] = (116130*x + half) >> 16
		cbG[i] = -22554 * x
		crG[i] = -46802*x + half
	}
}

// jpegToRGB is the row-wise (fast) form of jpegFetcher over a whole image.
// It returns ok=false for layouts jpegFetcher does not special-case.
func jpegToRGB(m *image.YCbCr) (pixels, bool) {
	if m.Rect.Min != (image.Point{}) {
		return pixels{}, false
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	var hsub, vsub bool
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		hsub = true
	case image.YCbCrSubsampleRatio420:
		hsub, vsub = true, true
	case image.YCbCrSubsampleRatio440:
		vsub = true
	default:
		return pixels{}, false
	}
	cw, ch := w, h
	if hsub {
		cw = (w + 1) / 2
	}
	if vsub {
		ch = (h + 1) / 2
	}
	out := pixels{w: w, h: h, c: 3, pix: make([]uint8, w*h*3)}
	colsum := make([]int, cw) // vertical stage, ×4 (or ×1 without vsub)
	up := [2][]int{make([]int, w), make([]int, w)}
	for y := 0; y < h; y++ {
		for k, plane := range [2][]uint8{m.Cb, m.Cr} {
			// Vertical stage: colsum = 3·near + far (h2v2) or the finished
			// value (h1v2), or the plain row.
			var ny, fy int
			if vsub {
				ny, fy = chromaNeighbours(y, ch)
			} else {
				ny, fy = y, y
			}
			nrow, frow := plane[ny*m.CStride:], plane[fy*m.CStride:]
			dst := up[k]
			switch {
			case hsub && vsub:
				for cx := 0; cx < cw; cx++ {
					colsum[cx] = 3*int(nrow[cx]) + int(frow[cx])
				}
				for x := 0; x < w; x++ {
					nx := x >> 1
					if x&1 == 0 {
						dst[x] = (3*colsum[nx] + colsum[max(nx-1, 0)] + 8) >> 4
					} else {
						dst[x] = (3*colsum[nx] + colsum[min(nx+1, cw-1)] + 7) >> 4
					}
				}
			case hsub:
				if cw == 1 {
					for x := range dst {
						dst[x] = int(nrow[0])
					}
					break
				}
				for x := 0; x < w; x++ {
					nx := x >> 1
					if x&1 == 0 {
						dst[x] = (3*int(nrow[nx]) + int(nrow[max(nx-1, 0)]) + 1) >> 2
					} else {
						dst[x] = (3*int(nrow[nx]) + int(nrow[min(nx+1, cw-1)]) + 2) >> 2
					}
				}
			case vsub:
				bias := 1
				if y&1 == 1 {
					bias = 2
				}
				for x := 0; x < w; x++ {
					dst[x] = (3*int(nrow[x]) + int(frow[x]) + bias) >> 2
				}
			default:
				for x := 0; x < w; x++ {
					dst[x] = int(nrow[x])
				}
			}
		}
		yrow := m.Y[y*m.YStride : y*m.YStride+w]
		orow := out.pix[y*w*3 : (y+1)*w*3]
		cb, cr := up[0], up[1]
		for x, yv := range yrow {
			yy := int(yv)
			orow[3*x] = clip8(yy + crR[cr[x]])
			orow[3*x+1] = clip8(yy + ((cbG[cb[x]] + crG[cr[x]]) >> 16))
			orow[3*x+2] = clip8(yy + cbB[cb[x]])
		}
	}
	return out, true
}
