package dataset

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
)

// headerInfo is what an image file's header says, read before any pixel is
// decoded: enough to refuse the file or to reserve its decode memory.
type headerInfo struct {
	format      format
	cfg         image.Config
	size        int64 // file size in bytes
	progressive bool  // JPEG: progressive (SOF2), or SOF not seen in the header bytes
	interlaced  bool  // PNG: Adam7
	rowBytes    int64 // PNG: bytes of one filtered row (filter byte included)
	depth       int   // PNG: bits per sample
}

// pixels is width·height as the header states it.
func (h headerInfo) pixelCount() int64 { return int64(h.cfg.Width) * int64(h.cfg.Height) }

// inspect parses the header of an image file of size bytes whose first bytes
// are head (at most headerBytes of them). Large metadata (EXIF thumbnails,
// ICC profiles, a TIFF directory at the end) can push the size fields past
// head: the header is then re-read through r, which the decoders only read
// as far as they need (tiff reads the directory at its offset), so nothing
// sized by the file is allocated here.
func inspect(head []byte, r io.ReaderAt, size int64) (headerInfo, error) {
	info := headerInfo{size: size}
	if size == 0 || len(head) == 0 {
		return info, errEmpty
	}
	info.format = sniff(head)
	cfg, err := decodeConfig(head)
	if err != nil && int64(len(head)) < size && info.format != formatUnknown && info.format != formatPNM {
		cfg, err = decodeConfigFrom(info.format, io.NewSectionReader(r, 0, size))
	}
	if err != nil {
		return info, err
	}
	info.cfg = cfg
	switch info.format {
	case formatJPEG:
		info.progressive = jpegProgressive(head)
	case formatPNG:
		// IHDR is the first chunk: signature (8), length and type (8), then
		// width, height, bit depth, colour type, compression, filter and
		// the interlace method at offset 28.
		info.interlaced = len(head) > 28 && head[28] != 0
		if len(head) > 25 {
			ch := map[byte]int64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[head[25]]
			info.rowBytes = (int64(cfg.Width)*int64(head[24])*max(ch, 1)+7)/8 + 1
			info.depth = int(head[24])
		}
	}
	return info, nil
}

// checkPixels applies PIL's decompression-bomb rule: more than
// 2·MaxImagePixels pixels is an error; more than MaxImagePixels gives a
// warning text (empty when none).
func (h headerInfo) checkPixels() (warning string, err error) {
	n := h.pixelCount()
	if n > 2*MaxImagePixels {
		return "", fmt.Errorf("%dx%d image has %d pixels, more than twice PIL's limit of %d (decompression bomb)",
			h.cfg.Width, h.cfg.Height, n, MaxImagePixels)
	}
	if n > MaxImagePixels {
		return fmt.Sprintf("%dx%d image has %d pixels, more than PIL's limit of %d (possible decompression bomb)",
			h.cfg.Width, h.cfg.Height, n, MaxImagePixels), nil
	}
	return "", nil
}

// jpegProgressive walks the JPEG markers in head up to the first start of
// frame and reports whether it is progressive (SOF2, SOF6, SOF10, SOF14).
// When no SOF lies within head it answers true, the costlier assumption.
func jpegProgressive(b []byte) bool {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return true // not at a marker: give up, assume the worst
		}
		m := b[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length
			i += 2
			continue
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
		}
		i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
	}
	return true
}

// modelBytes is the bytes per pixel of the image type Go's decoders return
// for a colour model (image.RGBA for 8-bit truecolour PNG and BMP, etc.).
func modelBytes(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // unknown: the widest standard pixel
}

// decoderBytes is an upper estimate of what Go's decoder for h's format
// allocates to decode the whole image, from the header alone (the decoded
// image plus the working buffers that scale with it). The multipliers are
// checked against measured allocations by TestDecodeMemoryEstimate.
func (h headerInfo) decoderBytes() int64 {
	w, ht := int64(h.cfg.Width), int64(h.cfg.Height)
	px := w * ht
	bpp := modelBytes(h.cfg.ColorModel)
	switch h.format {
	case formatPNG:
		n := bpp * px
		if h.interlaced { // each Adam7 pass is decoded into its own image, then merged
			n *= 2
		}
		row := h.rowBytes
		if row == 0 { // IHDR not in the header bytes: the widest row
			row = 8*w + 1
		}
		return n + 2*row // current and previous filtered rows
	case formatJPEG:
		// Planes are allocated for whole MCUs (up to 32×32 pixels).
		pw, ph := (w+31)&^31, (ht+31)&^31
		ppx := pw * ph
		var img, comps int64
		switch h.cfg.ColorModel {
		case color.GrayModel:
			img, comps = 1, 1
		case color.CMYKModel: // YCbCr planes + black plane, converted into CMYK
			img, comps = 3+1+4, 4
		default:
			img, comps = 3, 3
		}
		n := img * ppx
		if h.progressive { // one int32 coefficient per pixel per component
			n += 4 * comps * ppx
		}
		return n
	case formatGIF:
		return px // first frame as *image.Paletted, within the logical screen
	case formatBMP:
		return bpp*px + 4*w // image + one row
	case formatTIFF:
		// The image, plus each strip's decompressed bytes read with
		// io.ReadAll (whose doubling growth allocates up to about four
		// times the final size in total).
		return 5 * bpp * px
	case formatWebP:
		switch h.cfg.ColorModel {
		case color.YCbCrModel: // lossy 4:2:0 planes, rounded up to macroblocks
			return 2 * (w + 16) * (ht + 16)
		case color.NYCbCrAModel: // lossy planes + alpha, possibly VP8L-coded
			return 2*(w+16)*(ht+16) + 9*px
		default: // lossless VP8L: ARGB pixels, transforms, NRGBA result
			return 12 * px
		}
	case formatPNM:
		return bpp * px
	}
	return 8 * px
}

// loadSpec is how one file becomes pixels: the colour mode, EXIF handling,
// target size, interpolation and the decode budget.
type loadSpec struct {
	channels int
	exif     bool
	w, h     int // target width and height
	method   string
	budget   *decodeBudget
}

func (r *resolved) spec() loadSpec {
	return loadSpec{channels: r.channels, exif: r.ExifOrientation, w: r.width, h: r.height,
		method: r.Interpolation, budget: budgetFor(r.DecodeMemoryBudget)}
}

// fastNearest reports whether decodeResize takes the nearest-neighbour
// shortcut that converts only the kept pixels (no full-size RGB copy).
func (s loadSpec) fastNearest(f format) bool {
	return s.method == "nearest" && !(s.exif && f == formatJPEG)
}

// fixedDecodeBytes covers what decoding any file allocates whatever its
// size: the 64 KiB header read, inflate's Huffman tables (up to ~240 KiB
// for a TIFF strip), bufio and LZW state.
const fixedDecodeBytes = 512 << 10

// memoryNeed is the decode memory reserved for one file: the file's bytes,
// the decoder's allocations, our full-size conversion copies and the
// resized result (for PNGs streamed by pngResize, rows only).
func (s loadSpec) memoryNeed(h headerInfo) int64 {
	w, ht := int64(h.cfg.Width), int64(h.cfg.Height)
	px := w * ht
	c := int64(s.channels)
	ow, oh := int64(s.w), int64(s.h)
	if h.format == formatPNG && !h.interlaced {
		// pngResize: two filtered rows, a one-row image (up to 8 bytes a
		// pixel), and for the filters one converted row and the
		// horizontally resampled rows.
		row, img := 8*w+1, 8*w // IHDR unseen: the widest layout
		if h.rowBytes > 0 && h.depth <= 8 {
			row, img = h.rowBytes, 4*w
		} else if h.rowBytes > 0 {
			row = h.rowBytes
		}
		n := h.size + 2*row + img + ow*oh*c + 8*(ow+oh) + fixedDecodeBytes
		if s.method != "nearest" {
			n += c*w + ow*ht*c + 48*(max(w, ht)+ow+oh)
		}
		return n
	}
	n := h.size + h.decoderBytes() + ow*oh*c + 8*(ow+oh) + fixedDecodeBytes
	if !s.fastNearest(h.format) {
		n += 3 * px // full-size RGB
		if c == 1 {
			n += px // L from RGB
		}
		inH := ht
		if s.exif && h.format == formatJPEG {
			n += c * px      // oriented copy
			inH = max(w, ht) // orientations 5-8 swap the sides
		}
		n += ow * inH * c                // horizontal pass
		n += 48 * (max(w, ht) + ow + oh) // filter coefficient tables and bounds
	}
	return n
}

// admit applies the decompression-bomb rule and the budget rule to a header:
// it returns the bytes to reserve, a warning text for a large image, or an
// error when the image is refused.
func (s loadSpec) admit(h headerInfo) (need int64, warning string, err error) {
	warning, err = h.checkPixels()
	if err != nil {
		return 0, "", err
	}
	need = s.memoryNeed(h)
	if s.budget != nil && need > s.budget.size {
		return 0, "", fmt.Errorf("%dx%d %v needs about %s to decode, more than the decode-memory budget of %s (Options.DecodeMemoryBudget)",
			h.cfg.Width, h.cfg.Height, h.format, mib(need), mib(s.budget.size))
	}
	return need, warning, nil
}

// readHead opens path and reads its first headerBytes.
func readHead(path string) (f *os.File, head []byte, size int64, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, 0, fmt.Errorf("not a regular file")
	}
	size = fi.Size()
	head = make([]byte, min(size, headerBytes))
	n, err := io.ReadFull(f, head)
	if err != nil && n == 0 && size > 0 {
		f.Close()
		return nil, nil, 0, err
	}
	return f, head[:n], size, nil
}

// inspectFile reads and checks path's header (build-time check): it returns
// the header, a large-image warning and the error that skips the file.
func (s loadSpec) inspectFile(path string) (headerInfo, string, error) {
	f, head, size, err := readHead(path)
	if err != nil {
		return headerInfo{}, "", err
	}
	defer f.Close()
	info, err := inspect(head, f, size)
	if err != nil {
		return info, "", err
	}
	_, warning, err := s.admit(info)
	return info, warning, err
}
