package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// testImages returns one image of each Go colour model the decoders produce.
func testImages(w, h int) map[string]image.Image {
	r := rand.New(rand.NewPCG(5, 6))
	rect := image.Rect(0, 0, w, h)
	out := map[string]image.Image{}
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio440} {
		m := image.NewYCbCr(rect, ratio)
		for _, s := range [][]uint8{m.Y, m.Cb, m.Cr} {
			for i := range s {
				s[i] = uint8(r.IntN(256))
			}
		}
		out["ycbcr"+ratio.String()] = m
	}
	fill := func(p []uint8) {
		for i := range p {
			p[i] = uint8(r.IntN(256))
		}
	}
	g := image.NewGray(rect)
	fill(g.Pix)
	out["gray"] = g
	g16 := image.NewGray16(rect)
	fill(g16.Pix)
	out["gray16"] = g16
	n := image.NewNRGBA(rect)
	fill(n.Pix)
	out["nrgba"] = n
	n64 := image.NewNRGBA64(rect)
	fill(n64.Pix)
	out["nrgba64"] = n64
	c := image.NewCMYK(rect)
	fill(c.Pix)
	out["cmyk"] = c
	pal := image.NewPaletted(rect, color.Palette{color.RGBA{1, 2, 3, 255}, color.NRGBA{200, 100, 50, 128}, color.Black})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(r.IntN(3))
	}
	out["paletted"] = pal
	rgba := image.NewRGBA(rect)
	for i := 0; i < len(rgba.Pix); i += 4 {
		a := uint8(r.IntN(256))
		rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3] = uint8(r.IntN(int(a)+1)), uint8(r.IntN(int(a)+1)), uint8(r.IntN(int(a)+1)), a
	}
	out["rgba-premultiplied"] = rgba
	rgba64 := image.NewRGBA64(rect)
	for i := 0; i < len(rgba64.Pix); i += 8 {
		a := uint16(r.IntN(65536))
		if i%24 == 0 {
			a = 0xffff
		}
		for k := 0; k < 3; k++ {
			v := uint16(r.IntN(int(a) + 1))
			rgba64.Pix[i+2*k], rgba64.Pix[i+2*k+1] = uint8(v>>8), uint8(v)
		}
		rgba64.Pix[i+6], rgba64.Pix[i+7] = uint8(a>>8), uint8(a)
	}
	out["rgba64-premultiplied"] = rgba64
	// A sub-image whose bounds do not start at (0, 0).
	out["ycbcr-subimage"] = out["ycbcr"+image.YCbCrSubsampleRatio420.String()].(*image.YCbCr).SubImage(image.Rect(3, 2, w-1, h-2))
	return out
}

// TestRGBConversionAgainstColorPackage checks toRGB on every model against
// Go's image/color conversions (the reference for the formats whose
// conversion PIL leaves unchanged), and the PIL-specific rules by hand.
func TestRGBConversionAgainstColorPackage(t *testing.T) {
	for name, img := range testImages(17, 11) {
		p := toRGB(img)
		b := img.Bounds()
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				c := img.At(b.Min.X+x, b.Min.Y+y)
				var want [3]uint8
				switch m := c.(type) {
				case color.Gray16: // PIL mode "I" → RGB clips
					v := uint8(min(m.Y, 255))
					want = [3]uint8{v, v, v}
				case color.NRGBA64: // high byte, alpha dropped
					want = [3]uint8{uint8(m.R >> 8), uint8(m.G >> 8), uint8(m.B >> 8)}
				case color.CMYK: // PIL: nk − round(c·nk/255)
					nk := 255 - float64(m.K)
					f := func(v uint8) uint8 { return uint8(nk - float64(int(float64(v)*nk/255+0.5))) }
					want = [3]uint8{f(m.C), f(m.M), f(m.Y)}
				default: // straight (un-premultiplied) colour, alpha dropped
					n := color.NRGBAModel.Convert(c).(color.NRGBA)
					want = [3]uint8{n.R, n.G, n.B}
				}
				got := [3]uint8(p.pix[(y*p.w+x)*3 : (y*p.w+x)*3+3])
				tol := 0
				if _, ok := c.(color.NRGBA); ok {
					tol = 0
				} else if name == "rgba-premultiplied" || name == "rgba64-premultiplied" || name == "paletted" {
					tol = 1 // 16-bit round trip of un-premultiplying
				}
				for k := range got {
					if d := int(got[k]) - int(want[k]); d > tol || d < -tol {
						t.Fatalf("%s (%d,%d): got %v, want %v (colour %#v)", name, x, y, got, want, c)
					}
				}
			}
		}
	}
}

// TestSampleNearestEqualsConvertThenResize: the fast nearest path gives
// exactly toRGB/toGray followed by resizeNearest (which matches PIL).
func TestSampleNearestEqualsConvertThenResize(t *testing.T) {
	for name, img := range testImages(37, 23) {
		for _, size := range [][2]int{{10, 7}, {37, 23}, {80, 41}, {1, 1}} {
			for _, ch := range []int{3, 1} {
				var full pixels
				if ch == 3 {
					full = toRGB(img)
				} else {
					full = toGray(img)
				}
				want := resizeNearest(full, size[0], size[1])
				got := sampleNearest(img, formatUnknown, size[0], size[1], ch)
				if !bytes.Equal(got.pix, want.pix) {
					t.Fatalf("%s → %v, %d channels: fast path differs", name, size, ch)
				}
			}
		}
	}
}

// TestTruncatedEveryFormat cuts a valid file of each format at several
// lengths: decoding must fail cleanly (or, for a cut inside trailing
// metadata, succeed) and never panic.
func TestTruncatedEveryFormat(t *testing.T) {
	img := testImages(24, 16)["nrgba"]
	var jbuf bytes.Buffer
	jpeg.Encode(&jbuf, img, nil)
	for _, f := range []string{"png", "jpg", "gif", "bmp", "tif", "ppm"} {
		b := encode(t, f, img)
		for _, cut := range []int{0, 1, 8, len(b) / 3, len(b) / 2, len(b) - 1} {
			_, err := decodeImage(b[:cut])
			if cut < len(b)/2 && err == nil {
				t.Errorf("%s cut to %d of %d bytes decoded without error", f, cut, len(b))
			}
		}
		if _, err := decodeImage(b); err != nil {
			t.Errorf("%s: intact file fails: %v", f, err)
		}
		// Flip bytes in the header area: must not panic.
		for i := 0; i < min(len(b), 64); i++ {
			c := bytes.Clone(b)
			c[i] ^= 0xFF
			decodeImage(c)
		}
	}
}

// TestJPEGRowPathEqualsFetcher: the row-wise libjpeg conversion equals the
// per-pixel one (which the PIL reference tests pin down) for every
// subsampling ratio, odd and even sizes.
func TestJPEGRowPathEqualsFetcher(t *testing.T) {
	for _, size := range [][2]int{{17, 11}, {16, 10}, {1, 1}, {2, 3}} {
		for name, img := range testImages(size[0], size[1]) {
			m, ok := img.(*image.YCbCr)
			if !ok || m.Rect.Min != (image.Point{}) {
				continue
			}
			fast, ok := jpegToRGB(m)
			if !ok {
				t.Fatalf("%s: no row path", name)
			}
			f := jpegFetcher(m)
			for y := 0; y < size[1]; y++ {
				for x := 0; x < size[0]; x++ {
					r, g, b := f(x, y)
					o := (y*size[0] + x) * 3
					if [3]uint8{r, g, b} != [3]uint8(fast.pix[o:o+3]) {
						t.Fatalf("%s %v (%d,%d): row path %v, fetcher %v", name, size, x, y, fast.pix[o:o+3], [3]uint8{r, g, b})
					}
				}
			}
		}
	}
}

// TestPremultipliedFastPathsEqualGeneric checks the *image.RGBA and
// *image.RGBA64 readers against the generic path they replace
// (color.NRGBA64Model on img.At, high byte), exactly, sub-images included.
func TestPremultipliedFastPathsEqualGeneric(t *testing.T) {
	imgs := testImages(19, 13)
	for _, name := range []string{"rgba-premultiplied", "rgba64-premultiplied"} {
		for _, img := range []image.Image{imgs[name], imgs[name].(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(2, 3, 17, 12))} {
			fast := rgbFetcher(img)
			b := img.Bounds()
			for y := 0; y < b.Dy(); y++ {
				for x := 0; x < b.Dx(); x++ {
					n := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
					r, g, bb := fast(x, y)
					if [3]uint8{r, g, bb} != [3]uint8{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)} {
						t.Fatalf("%s %v (%d,%d): %v, generic %v", name, b, x, y, [3]uint8{r, g, bb}, n)
					}
				}
			}
		}
	}
}
