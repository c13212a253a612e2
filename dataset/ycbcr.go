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
