package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// headerBytes is how much of a file is read to parse its header.
const headerBytes = 64 << 10

// format is an image container recognised from its first bytes.
type format int

const (
	formatUnknown format = iota
	formatJPEG
	formatPNG
	formatGIF
	formatBMP
	formatTIFF
	formatWebP
	formatPNM
)

var formatNames = [...]string{"unknown", "JPEG", "PNG", "GIF", "BMP", "TIFF", "WebP", "PNM"}

func (f format) String() string { return formatNames[f] }

// sniff decides the format from content, never from the file name, so a
// WebP named .png decodes as WebP.
func sniff(b []byte) format {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return formatJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG
	case bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a")):
		return formatGIF
	case bytes.HasPrefix(b, []byte("BM")):
		return formatBMP
	case bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*")):
		return formatTIFF
	case len(b) >= 12 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:12]) == "WEBP":
		return formatWebP
	case len(b) >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && isPNMSpace(b[2]):
		return formatPNM
	}
	return formatUnknown
}

// errEmpty and errUnknown are the reasons for empty and non-image files.
var (
	errEmpty   = errors.New("empty file")
	errUnknown = errors.New("not a recognised image format (JPEG, PNG, GIF, BMP, TIFF, WebP, PPM/PGM)")
)

// decodeConfig reads width, height and colour model from an image header
// held in b.
func decodeConfig(b []byte) (cfg image.Config, err error) {
	if len(b) == 0 {
		return cfg, errEmpty
	}
	f := sniff(b)
	if f == formatPNM {
		h, _, err := parsePNMHeader(b)
		if err != nil {
			return cfg, fmt.Errorf("bad %v header: %v", f, err)
		}
		cfg.Width, cfg.Height = h.width, h.height
		cfg.ColorModel = color.GrayModel
		if h.magic == '3' || h.magic == '6' {
			cfg.ColorModel = color.NRGBAModel
		}
		return cfg, nil
	}
	return decodeConfigFrom(f, bytes.NewReader(b))
}

// decodeConfigFrom reads the header of an image of format f from rd.
func decodeConfigFrom(f format, rd io.Reader) (cfg image.Config, err error) {
	defer func() { // x/image decoders are not fuzzed as hard as the stdlib ones
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt image header (decoder panic: %v)", r)
		}
	}()
	switch f {
	case formatJPEG:
		cfg, err = jpeg.DecodeConfig(rd)
	case formatPNG:
		cfg, err = png.DecodeConfig(rd)
	case formatGIF:
		cfg, err = gif.DecodeConfig(rd)
	case formatBMP:
		cfg, err = bmp.DecodeConfig(rd)
	case formatTIFF:
		cfg, err = tiff.DecodeConfig(rd)
	case formatWebP:
		cfg, err = webp.DecodeConfig(rd)
	default:
		return cfg, errUnknown
	}
	if err != nil {
		return cfg, fmt.Errorf("bad %v header: %v", f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, fmt.Errorf("%v image has size %dx%d", f, cfg.Width, cfg.Height)
	}
	return cfg, nil
}

// maxPixels is PIL's refusal threshold (see MaxImagePixels), checked again
// by the decoders themselves; the decode-memory budget is checked before
// them (loadSpec.admit).
const maxPixels = 2 * MaxImagePixels

// decodeImage decodes a whole file held in b.
func decodeImage(b []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("corrupt image (decoder panic: %v)", r)
		}
	}()
	if len(b) == 0 {
		return nil, errEmpty
	}
	cfg, err := decodeConfig(b)
	if err != nil {
		return nil, err
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("image too large: %dx%d is more than %d pixels", cfg.Width, cfg.Height, maxPixels)
	}
	f := sniff(b)
	if f == formatBMP && int64(len(b)) < int64(cfg.Width)*int64(cfg.Height) {
		// BMP is uncompressed here (8, 24 or 32 bits per pixel): refuse to
		// allocate for pixels the file cannot hold.
		return nil, fmt.Errorf("truncated BMP: %d bytes for %dx%d pixels", len(b), cfg.Width, cfg.Height)
	}
	rd := bytes.NewReader(b)
	switch f {
	case formatJPEG:
		img, err = jpeg.Decode(rd)
	case formatPNG:
		img, err = png.Decode(rd)
	case formatGIF:
		img, err = gif.Decode(rd)
		if err == nil {
			fixGIFTransparency(img, b)
		}
	case formatBMP:
		img, err = bmp.Decode(rd)
	case formatTIFF:
		img, err = tiff.Decode(rd)
	case formatWebP:
		img, err = webp.Decode(rd)
	case formatPNM:
		img, err = decodePNM(b)
	default:
		return nil, errUnknown
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("truncated %v: %v", f, err)
		}
		return nil, fmt.Errorf("corrupt %v: %v", f, err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("%v image has size %dx%d", f, b.Dx(), b.Dy())
	}
	return img, nil
}

// pixels is a decoded 8-bit image: h rows of w pixels of c channels (1 or 3),
// row-major HWC.
type pixels struct {
	w, h, c int
	pix     []uint8
}

// rgbFetch returns the 8-bit RGB colour of pixel (x, y), counted from the
// image's top-left corner.
type rgbFetch func(x, y int) (r, g, b uint8)

// rgbFetcher returns the pixel reader that converts img's colour model to
// 8-bit RGB the way PIL's Image.convert("RGB") does for the mode PIL would
// open the file in:
//   - alpha is dropped, not composited (RGBA→RGB keeps the straight colour);
//   - grayscale is replicated; 16-bit grayscale (PIL mode "I") is clipped
//     to 0..255, not shifted, as Pillow 9.4 does;
//   - 16-bit RGB(A) keeps the high byte (PIL opens such PNGs as 8-bit);
//   - CMYK uses PIL's cmyk2rgb: R = 255−k − (255−k)·c/255 (rounded as PIL);
//   - paletted images use the palette colours (decodeImage restores the
//     transparent GIF entry that Go's decoder zeroes, see gifpalette.go).
func rgbFetcher(img image.Image) rgbFetch {
	b := img.Bounds()
	x0, y0 := b.Min.X, b.Min.Y
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) (uint8, uint8, uint8) {
			yi := m.YOffset(x0+x, y0+y)
			ci := m.COffset(x0+x, y0+y)
			return color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
		}
	case *image.NYCbCrA:
		return rgbFetcher(&m.YCbCr)
	case *image.Gray:
		return func(x, y int) (uint8, uint8, uint8) {
			v := m.Pix[y*m.Stride+x]
			return v, v, v
		}
	case *image.Gray16:
		return func(x, y int) (uint8, uint8, uint8) {
			i := y*m.Stride + 2*x
			v := uint8(min(uint16(m.Pix[i])<<8|uint16(m.Pix[i+1]), 255))
			return v, v, v
		}
	case *image.NRGBA:
		return func(x, y int) (uint8, uint8, uint8) {
			i := y*m.Stride + 4*x
			return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
		}
	case *image.NRGBA64:
		return func(x, y int) (uint8, uint8, uint8) {
			i := y*m.Stride + 8*x
			return m.Pix[i], m.Pix[i+2], m.Pix[i+4]
		}
	case *image.RGBA: // premultiplied: PNG truecolour, BMP, TIFF
		return func(x, y int) (uint8, uint8, uint8) {
			i := y*m.Stride + 4*x
			a := uint32(m.Pix[i+3]) * 0x101
			return unpremul(uint32(m.Pix[i])*0x101, a), unpremul(uint32(m.Pix[i+1])*0x101, a), unpremul(uint32(m.Pix[i+2])*0x101, a)
		}
	case *image.RGBA64: // premultiplied 16-bit: PNG truecolour 16, TIFF
		return func(x, y int) (uint8, uint8, uint8) {
			p := m.Pix[y*m.Stride+8*x:]
			a := uint32(p[6])<<8 | uint32(p[7])
			return unpremul(uint32(p[0])<<8|uint32(p[1]), a), unpremul(uint32(p[2])<<8|uint32(p[3]), a), unpremul(uint32(p[4])<<8|uint32(p[5]), a)
		}
	case *image.CMYK:
		return func(x, y int) (uint8, uint8, uint8) {
			i := y*m.Stride + 4*x
			nk := 255 - int(m.Pix[i+3])
			return clip8(nk - mulDiv255(int(m.Pix[i]), nk)),
				clip8(nk - mulDiv255(int(m.Pix[i+1]), nk)),
				clip8(nk - mulDiv255(int(m.Pix[i+2]), nk))
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [3]uint8{n.R, n.G, n.B}
		}
		return func(x, y int) (uint8, uint8, uint8) {
			c := pal[m.Pix[y*m.Stride+x]]
			return c[0], c[1], c[2]
		}
	}
	// RGBA (premultiplied), RGBA64, ...: un-premultiply to the straight
	// colour PIL would store, then drop alpha.
	return func(x, y int) (uint8, uint8, uint8) {
		n := color.NRGBA64Model.Convert(img.At(x0+x, y0+y)).(color.NRGBA64)
		return uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)
	}
}

// unpremul is color.NRGBA64Model's un-premultiplication of one 16-bit
// channel v with alpha a, reduced to its high byte: the generic path's
// result without boxing each pixel in an interface.
func unpremul(v, a uint32) uint8 {
	switch a {
	case 0xffff:
		return uint8(v >> 8)
	case 0:
		return 0
	}
	return uint8((v * 0xffff / a) >> 8)
}

// fetcherFor picks the pixel reader for an image decoded from format f:
// JPEG and WebP YCbCr planes get their libraries' PIL conversions
// (ycbcr.go), everything else rgbFetcher.
func fetcherFor(img image.Image, f format) rgbFetch {
	m, ok := img.(*image.YCbCr)
	if a, isA := img.(*image.NYCbCrA); isA {
		m, ok = &a.YCbCr, true
	}
	switch {
	case ok && f == formatJPEG:
		return jpegFetcher(m)
	case ok && f == formatWebP:
		return webpFetcher(m)
	}
	return rgbFetcher(img)
}

// toRGB converts the whole image to 8-bit RGB with Go's generic colour
// rules (see rgbFetcher); toRGBAs applies the decoder-specific ones.
func toRGB(img image.Image) pixels { return toRGBAs(img, formatUnknown) }

// toRGBAs converts img, decoded from format f, to 8-bit RGB as PIL would.
func toRGBAs(img image.Image, f format) pixels {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if m, ok := img.(*image.YCbCr); ok && f == formatJPEG {
		if p, ok := jpegToRGB(m); ok {
			return p
		}
	}
	out := pixels{w: w, h: h, c: 3, pix: make([]uint8, w*h*3)}
	if m, ok := img.(*image.YCbCr); ok && m.SubsampleRatio == image.YCbCrSubsampleRatio444 && f != formatJPEG && f != formatWebP {
		// Fast path for the commonest photo layout: no per-pixel offsets.
		for y := 0; y < h; y++ {
			yi := m.YOffset(b.Min.X, b.Min.Y+y)
			row := out.pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				row[3*x], row[3*x+1], row[3*x+2] = color.YCbCrToRGB(m.Y[yi+x], m.Cb[yi+x], m.Cr[yi+x])
			}
		}
		return out
	}
	fetch := fetcherFor(img, f)
	for y := 0; y < h; y++ {
		row := out.pix[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			row[3*x], row[3*x+1], row[3*x+2] = fetch(x, y)
		}
	}
	return out
}

// sampleNearest is toRGB/toGray followed by resizeNearest, converting only
// the pixels the nearest-neighbour resize keeps (same index tables, so the
// result is identical).
func sampleNearest(img image.Image, fm format, outW, outH, channels int) pixels {
	b := img.Bounds()
	xs, ys := nearestIndex(b.Dx(), outW), nearestIndex(b.Dy(), outH)
	out := pixels{w: outW, h: outH, c: channels, pix: make([]uint8, outW*outH*channels)}
	g, isGray := img.(*image.Gray)
	f := fetcherFor(img, fm)
	for oy, y := range ys {
		row := out.pix[oy*outW*channels : (oy+1)*outW*channels]
		for ox, x := range xs {
			switch {
			case channels == 3:
				row[3*ox], row[3*ox+1], row[3*ox+2] = f(x, y)
			case isGray:
				row[ox] = g.Pix[y*g.Stride+x]
			default:
				r, gg, bb := f(x, y)
				row[ox] = lumaPIL(r, gg, bb)
			}
		}
	}
	return out
}

// lumaPIL is PIL's RGB→L: (19595·R + 38470·G + 7471·B + 0x8000) >> 16.
func lumaPIL(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// mulDiv255 is PIL's MULDIV255(a, b): round(a·b/255) in integers.
func mulDiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

func clip8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// toGray converts img to PIL mode "L": 8-bit grayscale stays as is, 16-bit
// grayscale is clipped to 255 (see toRGB), colour goes through RGB and PIL's
// L = (19595·R + 38470·G + 7471·B + 0x8000) >> 16.
func toGray(img image.Image) pixels { return toGrayAs(img, formatUnknown) }

// toGrayAs is toGray for an image decoded from format f.
func toGrayAs(img image.Image, f format) pixels {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if g, ok := img.(*image.Gray); ok {
		out := pixels{w: w, h: h, c: 1, pix: make([]uint8, w*h)}
		for y := 0; y < h; y++ {
			copy(out.pix[y*w:(y+1)*w], g.Pix[y*g.Stride:y*g.Stride+w])
		}
		return out
	}
	rgb := toRGBAs(img, f)
	out := pixels{w: w, h: h, c: 1, pix: make([]uint8, w*h)}
	for i := range out.pix {
		out.pix[i] = lumaPIL(rgb.pix[3*i], rgb.pix[3*i+1], rgb.pix[3*i+2])
	}
	return out
}
