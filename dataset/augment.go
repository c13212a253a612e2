package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Augmentation with the semantics of Keras's ImageDataGenerator
// (get_random_transform + apply_transform + apply_affine_transform, which
// calls scipy.ndimage.affine_transform with order=1).
//
// Keras builds one 3×3 matrix M = R·S·Sh·Z (only the non-trivial factors):
//
//	R  = [[cos θ, −sin θ, 0], [sin θ, cos θ, 0], [0, 0, 1]]   θ in radians
//	S  = [[1, 0, tx], [0, 1, ty], [0, 0, 1]]
//	Sh = [[1, −sin s, 0], [0, cos s, 0], [0, 0, 1]]            s in radians
//	Z  = [[zx, 0, 0], [0, zy, 0], [0, 0, 1]]
//
// then centres it: M ← T(o)·M·T(−o) with o = (h/2 − 0.5, w/2 − 0.5), and,
// because its coordinates are (x, y), swaps rows and columns 0 and 1
// (M' = P·M·P) before handing it to scipy, which samples
//
//	input[row, col] at (row, col)ᵀ = M'[:2, :2]·(out_row, out_col)ᵀ + M'[:2, 2].
//
// Written out: in_col = M00·out_col + M01·out_row + M02 and
// in_row = M10·out_col + M11·out_row + M12. Two Keras quirks follow and are
// kept on purpose: tx (drawn from height_shift_range and scaled by the
// height) moves the image along the columns, and the centring offset uses
// h/2 for the column axis (exact only for square targets). Flips are applied
// to the transformed image afterwards (horizontal first, then vertical),
// which we fold into the sampling coordinates.

type fillMode int

const (
	fillNearest fillMode = iota
	fillConstant
	fillReflect
	fillWrap
)

func parseFillMode(s string) (fillMode, error) {
	switch s {
	case "", "nearest":
		return fillNearest, nil
	case "constant":
		return fillConstant, nil
	case "reflect":
		return fillReflect, nil
	case "wrap":
		return fillWrap, nil
	}
	return 0, fmt.Errorf("dataset: invalid FillMode %q; expected nearest, constant, reflect or wrap", s)
}

// Transform is one draw of ImageDataGenerator's random parameters, with
// Keras's names: Theta and Shear in degrees, Tx and Ty in pixels (Tx comes
// from the height shift range, Ty from the width shift range), Zx and Zy
// zoom factors (1 = none).
type Transform struct {
	Theta, Tx, Ty, Shear, Zx, Zy float64
	FlipHorizontal, FlipVertical bool
	// ChannelShiftIntensity is added to every value after the affine
	// resampling, then clipped to the image's minimum and maximum (0 = no
	// change, like Keras's None).
	ChannelShiftIntensity float64
	// Brightness is PIL's ImageEnhance.Brightness factor, applied last;
	// 0 means no brightness step (Keras's None; a drawn factor is never
	// exactly 0 in practice).
	Brightness float64
}

// Sample draws a Transform for an h×w image from rng in Keras's order:
// theta, tx, ty, shear, (zx, zy), flip_horizontal, flip_vertical,
// channel_shift_intensity, brightness. A zero range draws nothing for that
// parameter, as in Keras; the two flip coins are always tossed.
func (a *Augment) Sample(rng *rand.Rand, h, w int) Transform {
	t := Transform{Zx: 1, Zy: 1}
	uniform := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	if a.RotationRange != 0 {
		t.Theta = uniform(-a.RotationRange, a.RotationRange)
	}
	if r := a.HeightShiftRange; r != 0 {
		t.Tx = uniform(-r, r)
		if math.Abs(r) < 1 {
			t.Tx *= float64(h)
		}
	}
	if r := a.WidthShiftRange; r != 0 {
		t.Ty = uniform(-r, r)
		if math.Abs(r) < 1 {
			t.Ty *= float64(w)
		}
	}
	if a.ShearRange != 0 {
		t.Shear = uniform(-a.ShearRange, a.ShearRange)
	}
	lo, hi := a.zoomBounds()
	if !(lo == 1 && hi == 1) {
		t.Zx = uniform(lo, hi)
		t.Zy = uniform(lo, hi)
	}
	t.FlipHorizontal = rng.Float64() < 0.5 && a.HorizontalFlip
	t.FlipVertical = rng.Float64() < 0.5 && a.VerticalFlip
	if r := a.ChannelShiftRange; r != 0 {
		t.ChannelShiftIntensity = uniform(-r, r)
	}
	if br := a.BrightnessRange; br != [2]float64{} {
		t.Brightness = uniform(br[0], br[1])
	}
	return t
}

type mat3 [3][3]float64

func (a mat3) mul(b mat3) mat3 {
	var c mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

// Matrix returns Keras's centred 3×3 transform matrix for an h×w image,
// m[row][col] in Keras's (x, y) convention (before the row/column swap for
// scipy, see above), and false when the transform has no affine part (Keras
// then skips the resampling entirely; the matrix is the identity).
func (t Transform) Matrix(h, w int) ([3][3]float64, bool) {
	m, ok := t.matrix(h, w)
	return [3][3]float64(m), ok
}

func (t Transform) matrix(h, w int) (mat3, bool) {
	m := mat3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	any := false
	if t.Theta != 0 {
		th := t.Theta * math.Pi / 180
		m = mat3{{math.Cos(th), -math.Sin(th), 0}, {math.Sin(th), math.Cos(th), 0}, {0, 0, 1}}
		any = true
	}
	if t.Tx != 0 || t.Ty != 0 {
		m = m.mul(mat3{{1, 0, t.Tx}, {0, 1, t.Ty}, {0, 0, 1}})
		any = true
	}
	if t.Shear != 0 {
		s := t.Shear * math.Pi / 180
		m = m.mul(mat3{{1, -math.Sin(s), 0}, {0, math.Cos(s), 0}, {0, 0, 1}})
		any = true
	}
	if t.Zx != 1 || t.Zy != 1 {
		m = m.mul(mat3{{t.Zx, 0, 0}, {0, t.Zy, 0}, {0, 0, 1}})
		any = true
	}
	if !any {
		return m, false
	}
	ox, oy := float64(h)/2-0.5, float64(w)/2-0.5
	m = mat3{{1, 0, ox}, {0, 1, oy}, {0, 0, 1}}.mul(m).mul(mat3{{1, 0, -ox}, {0, 1, -oy}, {0, 0, 1}})
	return m, true
}

// warp writes the transformed h×w×c image src (uint8) into dst (float32,
// same layout): affine part bilinearly with the fill mode, then flips.
func warp(dst []float32, src []uint8, h, w, c int, t Transform, fill fillMode, cval float32) {
	m, affine := t.matrix(h, w)
	if !affine {
		copyFlipped(dst, src, h, w, c, t.FlipHorizontal, t.FlipVertical)
		return
	}
	// Sampling position for final pixel (i, j): output pixel (i', j') of the
	// affine step, i' = flipV ? h−1−i : i, j' = flipH ? w−1−j : j;
	// row = M11·i' + M10·j' + M12, col = M01·i' + M00·j' + M02.
	// Summed in scipy's order ((a·i' + b·j') + offset) so that coordinates
	// landing exactly on the border classify the same way.
	hm1, wm1 := float64(h-1), float64(w-1)
	for i := 0; i < h; i++ {
		ip := float64(i)
		if t.FlipVertical {
			ip = float64(h - 1 - i)
		}
		rowI := ip * m[1][1]
		colI := ip * m[0][1]
		out := dst[i*w*c : (i+1)*w*c]
		for j := 0; j < w; j++ {
			jp := float64(j)
			if t.FlipHorizontal {
				jp = float64(w - 1 - j)
			}
			r := (rowI + jp*m[1][0]) + m[1][2]
			cc := (colI + jp*m[0][0]) + m[0][2]
			if r >= 0 && cc >= 0 && r < hm1 && cc < wm1 {
				// Interior: all four taps inside the image.
				ri, ci := int(r), int(cc)
				fr, fc := float32(r-float64(ri)), float32(cc-float64(ci))
				w00, w01 := (1-fr)*(1-fc), (1-fr)*fc
				w10, w11 := fr*(1-fc), fr*fc
				k00 := (ri*w + ci) * c // top-left tap; +c right, +w·c down
				k10 := k00 + w*c
				if c == 3 {
					a, b := src[k00:k00+6], src[k10:k10+6]
					o := out[3*j : 3*j+3]
					o[0] = w00*float32(a[0]) + w01*float32(a[3]) + w10*float32(b[0]) + w11*float32(b[3])
					o[1] = w00*float32(a[1]) + w01*float32(a[4]) + w10*float32(b[1]) + w11*float32(b[4])
					o[2] = w00*float32(a[2]) + w01*float32(a[5]) + w10*float32(b[2]) + w11*float32(b[5])
					continue
				}
				for ch := 0; ch < c; ch++ {
					out[j*c+ch] = w00*float32(src[k00+ch]) + w01*float32(src[k00+c+ch]) +
						w10*float32(src[k10+ch]) + w11*float32(src[k10+c+ch])
				}
				continue
			}
			o := out[j*c : j*c+c]
			switch {
			case fill == fillConstant && (r < 0 || cc < 0 || r > hm1 || cc > wm1):
				for ch := range o {
					o[ch] = cval
				}
				continue
			case fill == fillNearest:
				// Clamp, then interpolate with the far tap clamped too.
				r = min(max(r, 0), hm1)
				cc = min(max(cc, 0), wm1)
				ri, ci := int(r), int(cc)
				fr, fc := float32(r-float64(ri)), float32(cc-float64(ci))
				ri1, ci1 := min(ri+1, h-1), min(ci+1, w-1)
				w00, w01 := (1-fr)*(1-fc), (1-fr)*fc
				w10, w11 := fr*(1-fc), fr*fc
				k00, k01 := (ri*w+ci)*c, (ri*w+ci1)*c
				k10, k11 := (ri1*w+ci)*c, (ri1*w+ci1)*c
				for ch := range o {
					o[ch] = w00*float32(src[k00+ch]) + w01*float32(src[k01+ch]) +
						w10*float32(src[k10+ch]) + w11*float32(src[k11+ch])
				}
				continue
			}
			sampleBorder(o, src, h, w, c, r, cc, fill, cval)
		}
	}
}

// sampleBorder is the slow path of warp for positions whose taps leave the
// image: each axis is mapped with scipy.ndimage's rule for the fill mode.
func sampleBorder(o []float32, src []uint8, h, w, c int, r, cc float64, fill fillMode, cval float32) {
	r0, r1, fr, okR := mapAxis(r, h, fill)
	c0, c1, fc, okC := mapAxis(cc, w, fill)
	if !okR || !okC {
		for ch := range o {
			o[ch] = cval
		}
		return
	}
	w00, w01 := (1-fr)*(1-fc), (1-fr)*fc
	w10, w11 := fr*(1-fc), fr*fc
	for ch := 0; ch < c; ch++ {
		o[ch] = w00*float32(src[(r0*w+c0)*c+ch]) + w01*float32(src[(r0*w+c1)*c+ch]) +
			w10*float32(src[(r1*w+c0)*c+ch]) + w11*float32(src[(r1*w+c1)*c+ch])
	}
}

// mapAxis maps coordinate x on an axis of n samples to two tap indices and
// the weight of the second, following scipy.ndimage (order 1):
//   - constant: x outside [0, n−1] → ok=false (the caller writes cval);
//   - nearest: x clamped to [0, n−1];
//   - reflect: half-sample symmetric extension (d c b a | a b c d | d c b a);
//   - wrap: scipy's "wrap", whose period is n−1 (first and last samples
//     overlap), with scipy's exact folding of x into [0, n−1].
func mapAxis(x float64, n int, fill fillMode) (i0, i1 int, frac float32, ok bool) {
	last := float64(n - 1)
	switch fill {
	case fillConstant:
		if x < 0 || x > last {
			return 0, 0, 0, false
		}
	case fillNearest:
		x = math.Min(math.Max(x, 0), last)
	case fillReflect:
		if n == 1 {
			return 0, 0, 0, true
		}
		f := math.Floor(x)
		return reflectIndex(int64(f), n), reflectIndex(int64(f)+1, n), float32(x - f), true
	case fillWrap:
		if n == 1 {
			return 0, 0, 0, true
		}
		sz := last
		if x < 0 {
			x += sz * (math.Trunc(-x/sz) + 1)
		} else if x > last {
			x -= sz * math.Trunc(x/sz)
		}
	}
	i0 = int(x)
	frac = float32(x - float64(i0))
	i1 = min(i0+1, n-1)
	return i0, i1, frac, true
}

// reflectIndex maps any integer index onto 0..n−1 with period 2n, mirroring
// about −0.5 and n−0.5.
func reflectIndex(k int64, n int) int {
	p := int64(2 * n)
	k %= p
	if k < 0 {
		k += p
	}
	if k >= int64(n) {
		k = p - 1 - k
	}
	return int(k)
}

// copyFlipped converts src to float32 with optional flips (no resampling).
func copyFlipped(dst []float32, src []uint8, h, w, c int, flipH, flipV bool) {
	for i := 0; i < h; i++ {
		si := i
		if flipV {
			si = h - 1 - i
		}
		srow := src[si*w*c : (si+1)*w*c]
		drow := dst[i*w*c : (i+1)*w*c]
		if !flipH {
			for k, v := range srow {
				drow[k] = float32(v)
			}
			continue
		}
		for j := 0; j < w; j++ {
			sj := (w - 1 - j) * c
			for ch := 0; ch < c; ch++ {
				drow[j*c+ch] = float32(srow[sj+ch])
			}
		}
	}
}

// applyColourShifts applies the transform's channel shift and brightness to
// an image warped (and flipped) by warp. Keras shifts channels before the
// flips and changes brightness after them; both act per pixel with
// image-wide minimum and maximum, which flips do not change.
func applyColourShifts(x []float32, c int, t Transform) {
	if t.ChannelShiftIntensity != 0 {
		channelShift(x, t.ChannelShiftIntensity)
	}
	if t.Brightness != 0 {
		brightnessShift(x, t.Brightness)
	}
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// channelShift is Keras's apply_channel_shift on a float32 image:
// x ← clip(x + intensity, min(x), max(x)), the bounds taken over the whole
// image before the shift, in float32 as NumPy computes it.
func channelShift(x []float32, intensity float64) {
	lo, hi := minMax(x)
	s := float32(intensity)
	for i, v := range x {
		x[i] = min(max(v+s, lo), hi)
	}
}

// brightnessShift is Keras's apply_brightness_shift(x, factor, scale=False):
//   - array_to_img: when every value lies in 0..255 the image is cast to
//     uint8 (truncation); otherwise it is first mapped to 0..255 by
//     (x − min)/max·255 (float32) and cast;
//   - PIL's ImageEnhance.Brightness = Image.blend(black, img, factor), in
//     C float: v ← clip(trunc(float32(factor)·v), 0, 255);
//   - back to float32, and, when mapped, x ← x/255·(max − min) + min.
func brightnessShift(x []float32, factor float64) {
	lo, hi := minMax(x)
	local := lo < 0 || hi > 255
	if local {
		var top float32
		for i, v := range x {
			x[i] = v - lo
			top = max(top, x[i])
		}
		for i := range x {
			if top != 0 {
				x[i] /= top
			}
			x[i] *= 255
		}
	}
	f := float32(factor)
	for i, v := range x {
		p := f * float32(uint8(v)) // astype('uint8') truncates; blend in C float
		switch {
		case p <= 0:
			x[i] = 0
		case p >= 255:
			x[i] = 255
		default:
			x[i] = float32(uint8(p))
		}
	}
	if local {
		span := hi - lo
		for i, v := range x {
			x[i] = float32(v/255*span) + lo
		}
	}
}
