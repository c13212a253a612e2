package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"io"
)

// Row-streaming PNG decoding. image/png decodes a whole image before we
// see a pixel: a 1.4 MB 11000×11000 16-bit RGBA PNG becomes a 968 MB
// *image.NRGBA64 even when we keep 64×64 pixels of it. pngRows decodes a
// non-interlaced PNG one row at a time into a one-row image of exactly the
// type image/png would return (Gray, Gray16, RGBA, NRGBA, RGBA64, NRGBA64
// or Paletted, with the same bytes), so the colour conversion is the very
// code the whole-image path uses (rgbFetcher) and the results are
// identical; TestPNGStreamMatchesImagePNG and FuzzDecodePNG check that
// against image/png. It accepts and refuses files by image/png's rules
// (chunk order, CRCs, lengths, filter types, zlib checksum, trailing
// data); interlaced (Adam7) files go through image/png.

// pngHeaderInfo is what the IHDR, PLTE and tRNS chunks say.
type pngHeaderInfo struct {
	width, height int
	depth, ctype  byte
	interlaced    bool
	bitsPerPixel  int
	palette       color.Palette // paletted: PLTE colours (tRNS applied)
	transparent   []byte        // gray/truecolour tRNS, nil without
}

// pngStream walks a PNG held in memory chunk by chunk.
type pngStream struct {
	b   []byte
	pos int
}

// chunk returns the next chunk's type and data and checks its CRC.
func (s *pngStream) chunk() (typ string, data []byte, err error) {
	if len(s.b)-s.pos < 8 {
		return "", nil, io.ErrUnexpectedEOF
	}
	n := binary.BigEndian.Uint32(s.b[s.pos:])
	typ = string(s.b[s.pos+4 : s.pos+8])
	if n > 0x7fffffff {
		return "", nil, fmt.Errorf("png: bad %q chunk length %d", typ, n)
	}
	if int64(len(s.b)-s.pos-8) < int64(n)+4 {
		return "", nil, io.ErrUnexpectedEOF
	}
	data = s.b[s.pos+8 : s.pos+8+int(n)]
	crc := crc32.NewIEEE()
	crc.Write(s.b[s.pos+4 : s.pos+8])
	crc.Write(data)
	if binary.BigEndian.Uint32(s.b[s.pos+8+int(n):]) != crc.Sum32() {
		return "", nil, errors.New("png: invalid checksum")
	}
	s.pos += 12 + int(n)
	return typ, data, nil
}

// idatReader presents consecutive IDAT chunks as one stream, as image/png
// does: when one is exhausted the next chunk must be an IDAT.
type idatReader struct {
	s    *pngStream
	data []byte
}

func (r *idatReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.data) == 0 {
		if len(r.s.b)-r.s.pos >= 8 && string(r.s.b[r.s.pos+4:r.s.pos+8]) != "IDAT" {
			return 0, errors.New("png: not enough pixel data")
		}
		typ, data, err := r.s.chunk()
		if err != nil {
			return 0, err
		}
		if typ != "IDAT" {
			return 0, errors.New("png: not enough pixel data")
		}
		r.data = data
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// pngBits maps (depth, colour type) to bits per pixel, 0 when invalid.
func pngBits(depth, ctype byte) int {
	ch := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
	switch {
	case ch == 0:
		return 0
	case depth == 16 && ctype != 3, depth == 8:
		return int(depth) * ch
	case (depth == 1 || depth == 2 || depth == 4) && (ctype == 0 || ctype == 3):
		return int(depth)
	}
	return 0
}

// pngRows decodes a PNG in b. header is called once the chunks before the
// pixel data are read (it may refuse the image); then row is called for
// each y = 0..height−1 for which need(y) holds (every y when need is nil)
// with a reader of that row's pixels (x from 0, y = 0). Every row is
// inflated and unfiltered (filters refer to the row above); only needed
// rows are converted. Interlaced files are refused with errPNGInterlaced.
func pngRows(b []byte, header func(h *pngHeaderInfo) error, need func(y int) bool, row func(y int, fetch rgbFetch) error) error {
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return errors.New("png: not a PNG file")
	}
	s := &pngStream{b: b, pos: 8}
	var h pngHeaderInfo
	const (
		start = iota
		seenIHDR
		seenPLTE
		seentRNS
		seenIDAT
	)
	stage := start
	for {
		typ, data, err := s.chunk()
		if err != nil {
			return err
		}
		paletted := h.ctype == 3
		switch typ {
		case "IHDR":
			if stage != start {
				return errors.New("png: chunk out of order")
			}
			stage = seenIHDR
			if len(data) != 13 {
				return errors.New("png: bad IHDR length")
			}
			if data[10] != 0 || data[11] != 0 || data[12] > 1 {
				return errors.New("png: unsupported compression, filter or interlace method")
			}
			w, ht := int32(binary.BigEndian.Uint32(data)), int32(binary.BigEndian.Uint32(data[4:]))
			if w <= 0 || ht <= 0 {
				return errors.New("png: non-positive dimension")
			}
			h.width, h.height, h.depth, h.ctype, h.interlaced = int(w), int(ht), data[8], data[9], data[12] == 1
			if h.bitsPerPixel = pngBits(h.depth, h.ctype); h.bitsPerPixel == 0 {
				return fmt.Errorf("png: unsupported bit depth %d, color type %d", h.depth, h.ctype)
			}
		case "PLTE":
			if stage != seenIHDR {
				return errors.New("png: chunk out of order")
			}
			stage = seenPLTE
			np := len(data) / 3
			if len(data)%3 != 0 || np <= 0 || np > 256 || np > 1<<h.depth {
				return errors.New("png: bad PLTE length")
			}
			switch h.ctype {
			case 3:
				h.palette = make(color.Palette, 256)
				for i := range h.palette {
					h.palette[i] = color.RGBA{0, 0, 0, 0xff}
				}
				for i := 0; i < np; i++ {
					h.palette[i] = color.RGBA{data[3*i], data[3*i+1], data[3*i+2], 0xff}
				}
				h.palette = h.palette[:np]
			case 2, 6: // optional, ignored for truecolour
			default:
				return errors.New("png: PLTE, color type mismatch")
			}
		case "tRNS":
			switch {
			case paletted && stage != seenPLTE,
				!paletted && h.ctype == 2 && stage != seenIHDR && stage != seenPLTE,
				!paletted && h.ctype != 2 && stage != seenIHDR:
				return errors.New("png: chunk out of order")
			}
			stage = seentRNS
			switch h.ctype {
			case 0, 2:
				if len(data) != map[byte]int{0: 2, 2: 6}[h.ctype] {
					return errors.New("png: bad tRNS length")
				}
				h.transparent = append([]byte(nil), data...)
				if h.ctype == 0 && h.depth < 8 { // scale the sample like the pixels
					h.transparent[1] *= map[byte]byte{1: 0xff, 2: 0x55, 4: 0x11}[h.depth]
				}
			case 3:
				if len(data) > 256 {
					return errors.New("png: bad tRNS length")
				}
				if len(h.palette) < len(data) {
					h.palette = h.palette[:len(data)]
				}
				for i, a := range data {
					c := h.palette[i].(color.RGBA)
					h.palette[i] = color.NRGBA{c.R, c.G, c.B, a}
				}
			default:
				return errors.New("png: tRNS, color type mismatch")
			}
		case "IDAT":
			if stage == seenIDAT { // trailing IDATs are ignored, as image/png does
				continue
			}
			if stage < seenIHDR || (stage == seenIHDR && paletted) {
				return errors.New("png: chunk out of order")
			}
			stage = seenIDAT
			if h.interlaced {
				return errPNGInterlaced
			}
			if err := header(&h); err != nil {
				return err
			}
			if err := h.rows(&idatReader{s: s, data: data}, need, row); err != nil {
				return err
			}
		case "IEND":
			if stage != seenIDAT {
				return errors.New("png: chunk out of order")
			}
			if len(data) != 0 {
				return errors.New("png: bad IEND length")
			}
			return nil
		}
	}
}

// errPNGInterlaced marks a file pngRows leaves to image/png.
var errPNGInterlaced = errors.New("png: interlaced")

// rows inflates, unfilters and converts every row.
func (h *pngHeaderInfo) rows(idat *idatReader, need func(y int) bool, row func(y int, fetch rgbFetch) error) error {
	zr, err := zlib.NewReader(idat)
	if err != nil {
		return err
	}
	defer zr.Close()
	w := h.width
	rowSize := 1 + (int64(h.bitsPerPixel)*int64(w)+7)/8
	bpp := (h.bitsPerPixel + 7) / 8
	cr, pr := make([]byte, rowSize), make([]byte, rowSize)
	img, fill := h.rowImage()
	fetch := rgbFetcher(img)
	for y := 0; y < h.height; y++ {
		if _, err := io.ReadFull(zr, cr); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return errors.New("png: not enough pixel data")
			}
			return err
		}
		cdat, pdat := cr[1:], pr[1:]
		switch cr[0] {
		case 0:
		case 1: // Sub
			for i := bpp; i < len(cdat); i++ {
				cdat[i] += cdat[i-bpp]
			}
		case 2: // Up
			for i, p := range pdat {
				cdat[i] += p
			}
		case 3: // Average
			for i := 0; i < bpp; i++ {
				cdat[i] += pdat[i] / 2
			}
			for i := bpp; i < len(cdat); i++ {
				cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
			}
		case 4: // Paeth
			for i := range cdat {
				var a, c int
				if i >= bpp {
					a, c = int(cdat[i-bpp]), int(pdat[i-bpp])
				}
				b := int(pdat[i])
				p := a + b - c
				pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
				switch {
				case pa <= pb && pa <= pc:
				case pb <= pc:
					a = b
				default:
					a = c
				}
				cdat[i] += uint8(a)
			}
		default:
			return errors.New("png: bad filter type")
		}
		if need == nil || need(y) {
			fill(cdat)
			if err := row(y, fetch); err != nil {
				return err
			}
		}
		cr, pr = pr, cr
	}
	// The zlib stream must end here (its checksum verified) with no pixel
	// data left in the current IDAT chunk.
	var one [1]byte
	n, err := 0, error(nil)
	for i := 0; n == 0 && err == nil; i++ {
		if i == 100 {
			return io.ErrNoProgress
		}
		n, err = zr.Read(one[:])
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("png: %v", err)
	}
	if n != 0 || len(idat.data) != 0 {
		return errors.New("png: too much pixel data")
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// rowImage returns a one-row image of the type image/png returns for this
// header and a function that stores one unfiltered row into it with
// image/png's sample expansion and transparency rules.
func (h *pngHeaderInfo) rowImage() (image.Image, func(cdat []byte)) {
	w := h.width
	r := image.Rect(0, 0, w, 1)
	tr := h.transparent
	switch {
	case h.ctype == 3:
		m := image.NewPaletted(r, h.palette)
		return m, func(cdat []byte) {
			unpackBits(m.Pix, cdat, int(h.depth), 1)
		}
	case h.ctype == 0 && h.depth <= 8:
		scale := map[byte]byte{1: 0xff, 2: 0x55, 4: 0x11, 8: 1}[h.depth]
		if tr == nil {
			m := image.NewGray(r)
			return m, func(cdat []byte) { unpackBits(m.Pix, cdat, int(h.depth), scale) }
		}
		m := image.NewNRGBA(r)
		g := make([]byte, w)
		return m, func(cdat []byte) {
			unpackBits(g, cdat, int(h.depth), scale)
			for x, v := range g {
				a := byte(0xff)
				if v == tr[1] {
					a = 0
				}
				copy(m.Pix[4*x:], []byte{v, v, v, a})
			}
		}
	case h.ctype == 4 && h.depth == 8:
		m := image.NewNRGBA(r)
		return m, func(cdat []byte) {
			for x := 0; x < w; x++ {
				v := cdat[2*x]
				copy(m.Pix[4*x:], []byte{v, v, v, cdat[2*x+1]})
			}
		}
	case h.ctype == 2 && h.depth == 8:
		if tr == nil {
			m := image.NewRGBA(r)
			return m, func(cdat []byte) {
				for x := 0; x < w; x++ {
					copy(m.Pix[4*x:], []byte{cdat[3*x], cdat[3*x+1], cdat[3*x+2], 0xff})
				}
			}
		}
		m := image.NewNRGBA(r)
		return m, func(cdat []byte) {
			for x := 0; x < w; x++ {
				p := cdat[3*x : 3*x+3]
				a := byte(0xff)
				if p[0] == tr[1] && p[1] == tr[3] && p[2] == tr[5] {
					a = 0
				}
				copy(m.Pix[4*x:], []byte{p[0], p[1], p[2], a})
			}
		}
	case h.ctype == 6 && h.depth == 8:
		m := image.NewNRGBA(r)
		return m, func(cdat []byte) { copy(m.Pix, cdat) }
	case h.ctype == 0: // 16-bit gray
		if tr == nil {
			m := image.NewGray16(r)
			return m, func(cdat []byte) { copy(m.Pix, cdat) }
		}
		m := image.NewNRGBA64(r)
		return m, func(cdat []byte) {
			for x := 0; x < w; x++ {
				v := cdat[2*x : 2*x+2]
				a := byte(0xff)
				if v[0] == tr[0] && v[1] == tr[1] {
					a = 0
				}
				copy(m.Pix[8*x:], []byte{v[0], v[1], v[0], v[1], v[0], v[1], a, a})
			}
		}
	case h.ctype == 4: // 16-bit gray + alpha
		m := image.NewNRGBA64(r)
		return m, func(cdat []byte) {
			for x := 0; x < w; x++ {
				v := cdat[4*x : 4*x+4]
				copy(m.Pix[8*x:], []byte{v[0], v[1], v[0], v[1], v[0], v[1], v[2], v[3]})
			}
		}
	case h.ctype == 2: // 16-bit truecolour
		if tr == nil {
			m := image.NewRGBA64(r)
			return m, func(cdat []byte) {
				for x := 0; x < w; x++ {
					copy(m.Pix[8*x:], cdat[6*x:6*x+6])
					m.Pix[8*x+6], m.Pix[8*x+7] = 0xff, 0xff
				}
			}
		}
		m := image.NewNRGBA64(r)
		return m, func(cdat []byte) {
			for x := 0; x < w; x++ {
				p := cdat[6*x : 6*x+6]
				a := byte(0xff)
				if bytes.Equal(p, tr) {
					a = 0
				}
				copy(m.Pix[8*x:], p)
				m.Pix[8*x+6], m.Pix[8*x+7] = a, a
			}
		}
	default: // 16-bit truecolour + alpha
		m := image.NewNRGBA64(r)
		return m, func(cdat []byte) { copy(m.Pix, cdat) }
	}
}

// unpackBits expands samples of depth bits (1, 2, 4 or 8), most
// significant first, into one byte each, multiplied by scale.
func unpackBits(dst, src []byte, depth int, scale byte) {
	if depth == 8 {
		copy(dst, src)
		return
	}
	per := 8 / depth
	mask := byte(1<<depth - 1)
	for x := range dst {
		b := src[x/per]
		shift := uint(8 - depth*(x%per+1))
		dst[x] = (b >> shift & mask) * scale
	}
}

// pngResize is decodeResize for a non-interlaced PNG, streaming: it keeps
// two filtered rows, one converted row and, for bilinear and bicubic, the
// horizontally resampled rows (outW·height·c bytes), never the whole
// image. Results equal the whole-image path (same conversion and resize
// arithmetic, done per row).
func pngResize(b []byte, channels, outW, outH int, method string) (pixels, error) {
	out := pixels{w: outW, h: outH, c: channels}
	var xs, ys []int
	var tmp pixels       // horizontally resampled rows (filters)
	var line []uint8     // one converted full row (filters)
	var hc *coefficients // horizontal filter taps (nil: same width)
	oy := 0
	header := func(h *pngHeaderInfo) error {
		if int64(h.width)*int64(h.height) > maxPixels {
			return fmt.Errorf("image too large: %dx%d is more than %d pixels", h.width, h.height, maxPixels)
		}
		if method == "nearest" {
			xs, ys = nearestIndex(h.width, outW), nearestIndex(h.height, outH)
			out.pix = make([]uint8, outW*outH*channels)
			return nil
		}
		line = make([]uint8, h.width*channels)
		tmp = pixels{w: outW, h: h.height, c: channels, pix: make([]uint8, outW*h.height*channels)}
		if h.width != outW {
			f := bilinearFilter
			if method == "bicubic" {
				f = bicubicFilter
			}
			hc = newCoefficients(h.width, outW, f)
		}
		return nil
	}
	row := func(y int, fetch rgbFetch) error {
		if xs != nil { // nearest: only the output rows that sample input row y
			for ; oy < outH && ys[oy] == y; oy++ {
				dst := out.pix[oy*outW*channels : (oy+1)*outW*channels]
				for ox, x := range xs {
					r, g, b := fetch(x, 0)
					if channels == 3 {
						dst[3*ox], dst[3*ox+1], dst[3*ox+2] = r, g, b
					} else {
						dst[ox] = lumaPIL(r, g, b)
					}
				}
			}
			return nil
		}
		for x := 0; x*channels < len(line); x++ {
			r, g, b := fetch(x, 0)
			if channels == 3 {
				line[3*x], line[3*x+1], line[3*x+2] = r, g, b
			} else {
				line[x] = lumaPIL(r, g, b)
			}
		}
		dst := tmp.pix[y*outW*channels : (y+1)*outW*channels]
		if hc == nil {
			copy(dst, line)
		} else {
			hc.resampleRow(dst, line, channels)
		}
		return nil
	}
	var need func(y int) bool
	if method == "nearest" { // only the rows the nearest index table keeps
		need = func(y int) bool { return oy < outH && ys[oy] == y }
	}
	if err := pngRows(b, header, need, row); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return pixels{}, fmt.Errorf("truncated PNG: %v", err)
		}
		return pixels{}, fmt.Errorf("corrupt PNG: %v", err)
	}
	if xs != nil {
		return out, nil
	}
	if tmp.h == outH {
		return tmp, nil
	}
	f := bilinearFilter
	if method == "bicubic" {
		f = bicubicFilter
	}
	return resampleVertical(tmp, outH, f), nil
}

// pngInterlaced reads the IHDR interlace flag of a PNG held in b (IHDR is
// the first chunk; its flag sits at offset 28).
func pngInterlaced(b []byte) bool { return len(b) > 28 && b[28] != 0 }
