package dataset

import "encoding/binary"

// EXIF orientation (Options.ExifOrientation). Keras ignores it; when asked,
// we read tag 0x0112 from a JPEG's APP1 "Exif" segment and undo it so the
// image is upright, as PIL's ImageOps.exif_transpose does.

// exifOrientation returns the Orientation tag (1..8) of a JPEG, or 1 when
// there is none or the data is malformed.
func exifOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	pos := 2
	for pos+4 <= len(b) {
		if b[pos] != 0xFF {
			return 1
		}
		marker := b[pos+1]
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF {
			pos += 2
			if marker == 0xFF {
				pos--
			}
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan / end: no more headers
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[pos+2:]))
		if n < 2 || pos+2+n > len(b) {
			return 1
		}
		seg := b[pos+4 : pos+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		pos += 2 + n
	}
	return 1
}

// tiffOrientation reads IFD0's Orientation from a TIFF header block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[ifd:]))
	for i := 0; i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			v := int(bo.Uint16(t[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// orient undoes EXIF orientation o on p. Output pixel (x, y) of an upright
// image of size W'×H' reads the stored pixel given by the tag:
// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 CW (stored image
// is rotated 90 CCW), 7 transverse, 8 rotate 90 CCW.
func orient(p pixels, o int) pixels {
	if o < 2 || o > 8 {
		return p
	}
	w, h, c := p.w, p.h, p.c
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := pixels{w: ow, h: oh, c: c, pix: make([]uint8, len(p.pix))}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			copy(out.pix[(y*ow+x)*c:(y*ow+x+1)*c], p.pix[(sy*w+sx)*c:(sy*w+sx+1)*c])
		}
	}
	return out
}
