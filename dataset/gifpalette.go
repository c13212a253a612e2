package dataset

import (
	"image"
	"image/color"
)

// Go's image/gif replaces the transparent palette entry with a zero colour;
// PIL keeps the entry's real colour and convert("RGB") shows it. This reads
// the first frame's colour table (local, else global) straight from the
// file so the RGB conversion sees the same colours as PIL.

// gifFirstPalette returns the colour table of the first image in a GIF, or
// nil if the data is malformed.
func gifFirstPalette(b []byte) [][3]uint8 {
	if len(b) < 13 {
		return nil
	}
	table := func(pos, packed int) ([][3]uint8, int) {
		if packed&0x80 == 0 {
			return nil, pos
		}
		n := 2 << (packed & 7)
		if pos+3*n > len(b) {
			return nil, -1
		}
		t := make([][3]uint8, n)
		for i := range t {
			t[i] = [3]uint8{b[pos+3*i], b[pos+3*i+1], b[pos+3*i+2]}
		}
		return t, pos + 3*n
	}
	global, pos := table(13, int(b[10]))
	if pos < 0 {
		return nil
	}
	for pos < len(b) {
		switch b[pos] {
		case 0x21: // extension: label, then sub-blocks until a zero size
			pos += 2
			for pos < len(b) && b[pos] != 0 {
				pos += int(b[pos]) + 1
			}
			pos++
		case 0x2C: // image descriptor
			if pos+10 > len(b) {
				return nil
			}
			local, end := table(pos+10, int(b[pos+9]))
			if end < 0 {
				return nil
			}
			if local != nil {
				return local
			}
			return global
		default:
			return nil
		}
	}
	return nil
}

// fixGIFTransparency restores transparent palette entries of a decoded GIF
// to the file's colours (opaque), so alpha is dropped like PIL does.
func fixGIFTransparency(img image.Image, b []byte) {
	m, ok := img.(*image.Paletted)
	if !ok {
		return
	}
	raw := gifFirstPalette(b)
	for i, c := range m.Palette {
		if i >= len(raw) {
			break
		}
		if _, _, _, a := c.RGBA(); a == 0 {
			pal := append(color.Palette(nil), m.Palette...)
			pal[i] = color.RGBA{raw[i][0], raw[i][1], raw[i][2], 255}
			m.Palette = pal
		}
	}
}
