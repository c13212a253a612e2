package dataset

import (
	"errors"
	"fmt"
	"image"
)

// Netpbm (PBM/PGM/PPM, P1–P6) decoding. Go's standard library has no PPM
// decoder and Keras accepts .ppm files, so this is a small one: binary and
// ASCII variants, maxval up to 65535 (16-bit samples are scaled to 8 bits as
// PIL does for PPM: v·255/maxval, rounded).

type pnmHeader struct {
	magic         byte // '1'..'6'
	width, height int
	maxval        int
}

func isPNMSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// pnmTokens reads whitespace-separated ASCII integers, skipping # comments.
type pnmTokens struct {
	b   []byte
	pos int
}

func (t *pnmTokens) next() (int, error) {
	for t.pos < len(t.b) {
		c := t.b[t.pos]
		if c == '#' {
			for t.pos < len(t.b) && t.b[t.pos] != '\n' && t.b[t.pos] != '\r' {
				t.pos++
			}
			continue
		}
		if !isPNMSpace(c) {
			break
		}
		t.pos++
	}
	if t.pos >= len(t.b) {
		return 0, errors.New("unexpected end of PNM data")
	}
	v, digits := 0, 0
	for t.pos < len(t.b) && t.b[t.pos] >= '0' && t.b[t.pos] <= '9' {
		if v > 1<<24 {
			return 0, errors.New("PNM number too large")
		}
		v = v*10 + int(t.b[t.pos]-'0')
		t.pos++
		digits++
	}
	if digits == 0 {
		return 0, fmt.Errorf("bad PNM character %q", t.b[t.pos])
	}
	return v, nil
}

// parsePNMHeader returns the header and the offset of the first sample byte
// (for binary variants, just after the single whitespace that ends the header).
func parsePNMHeader(b []byte) (pnmHeader, int, error) {
	var h pnmHeader
	if len(b) < 3 || b[0] != 'P' || b[1] < '1' || b[1] > '6' {
		return h, 0, errors.New("not a PNM file")
	}
	h.magic = b[1]
	t := &pnmTokens{b: b, pos: 2}
	var err error
	if h.width, err = t.next(); err != nil {
		return h, 0, err
	}
	if h.height, err = t.next(); err != nil {
		return h, 0, err
	}
	h.maxval = 1
	if h.magic != '1' && h.magic != '4' {
		if h.maxval, err = t.next(); err != nil {
			return h, 0, err
		}
		if h.maxval < 1 || h.maxval > 65535 {
			return h, 0, fmt.Errorf("PNM maxval %d outside 1..65535", h.maxval)
		}
	}
	if h.width <= 0 || h.height <= 0 {
		return h, 0, fmt.Errorf("PNM size %dx%d", h.width, h.height)
	}
	if t.pos >= len(b) || !isPNMSpace(b[t.pos]) {
		return h, 0, errors.New("unexpected end of PNM header")
	}
	return h, t.pos + 1, nil
}

// decodePNM decodes P1–P6 into *image.Gray (P1, P2, P4, P5) or *image.NRGBA
// (P3, P6). Samples go straight into the image (1 or 4 bytes per pixel).
func decodePNM(b []byte) (image.Image, error) {
	h, off, err := parsePNMHeader(b)
	if err != nil {
		return nil, err
	}
	if int64(h.width)*int64(h.height) > maxPixels {
		return nil, fmt.Errorf("PNM too large: %dx%d", h.width, h.height)
	}
	channels := 1
	if h.magic == '3' || h.magic == '6' {
		channels = 3
	}
	n := h.width * h.height * channels
	// Every sample takes at least one bit (P4), byte (P5, P6) or character
	// (P1–P3): check before allocating.
	if need := int64(n) / 8; h.magic != '4' {
		need = int64(n)
		if int64(len(b)-off) < need {
			return nil, fmt.Errorf("truncated PNM data: %d bytes for %d samples", len(b)-off, n)
		}
	} else if int64(len(b)-off) < need {
		return nil, errors.New("truncated PBM data")
	}
	rect := image.Rect(0, 0, h.width, h.height)
	// put stores sample i (in file order) at its place in the image.
	var put func(i, v int)
	var img image.Image
	scale := func(v int) uint8 {
		if v > h.maxval {
			v = h.maxval
		}
		if h.maxval == 255 {
			return uint8(v)
		}
		return uint8((v*255 + h.maxval/2) / h.maxval)
	}
	switch h.magic {
	case '1', '4': // bits, 1 = black
		g := image.NewGray(rect)
		put = func(i, v int) { g.Pix[i] = uint8(255 * (1 - v)) }
		img = g
	case '2', '5':
		g := image.NewGray(rect)
		put = func(i, v int) { g.Pix[i] = scale(v) }
		img = g
	default:
		m := image.NewNRGBA(rect)
		put = func(i, v int) {
			m.Pix[i/3*4+i%3] = scale(v)
			if i%3 == 2 {
				m.Pix[i/3*4+3] = 255
			}
		}
		img = m
	}
	switch h.magic {
	case '4': // packed bits, rows padded to a byte
		rowBytes := (h.width + 7) / 8
		if len(b)-off < rowBytes*h.height {
			return nil, errors.New("truncated PBM data")
		}
		for y := 0; y < h.height; y++ {
			for x := 0; x < h.width; x++ {
				bit := b[off+y*rowBytes+x/8] >> (7 - uint(x%8)) & 1
				put(y*h.width+x, int(bit))
			}
		}
	case '5', '6':
		bps := 1
		if h.maxval > 255 {
			bps = 2
		}
		if len(b)-off < n*bps {
			return nil, fmt.Errorf("truncated PNM data: %d of %d bytes", len(b)-off, n*bps)
		}
		for i := 0; i < n; i++ {
			if bps == 1 {
				put(i, int(b[off+i]))
			} else {
				put(i, int(b[off+2*i])<<8|int(b[off+2*i+1]))
			}
		}
	default: // ASCII: P1, P2, P3
		t := &pnmTokens{b: b, pos: off - 1}
		for i := 0; i < n; i++ {
			if h.magic == '1' { // P1 digits need no separators
				for t.pos < len(b) {
					if b[t.pos] == '#' {
						for t.pos < len(b) && b[t.pos] != '\n' && b[t.pos] != '\r' {
							t.pos++
						}
					} else if isPNMSpace(b[t.pos]) {
						t.pos++
					} else {
						break
					}
				}
				if t.pos >= len(b) {
					return nil, errors.New("truncated PBM data")
				}
				if b[t.pos] != '0' && b[t.pos] != '1' {
					return nil, fmt.Errorf("bad PBM character %q", b[t.pos])
				}
				put(i, int(b[t.pos]-'0'))
				t.pos++
				continue
			}
			v, err := t.next()
			if err != nil {
				return nil, fmt.Errorf("truncated PNM data: %v", err)
			}
			put(i, v)
		}
	}
	return img, nil
}
