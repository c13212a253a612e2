package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
)

// Filter pipelines (filter pipeline message, format spec §IV.A.2.l): the
// deflate, shuffle and fletcher32 filters are undone when chunks are read.

// parseFilters decodes a filter pipeline message (versions 1 and 2).
func (f *File) parseFilters(b []byte, path string) ([]filter, error) {
	c := newCursor(b, f)
	version := c.u8()
	n := int(c.u8())
	if version == 1 {
		c.skip(6)
	} else if version != 2 && c.err == nil {
		return nil, f.errorf(ErrUnsupported, path, "filter pipeline message version %d", version)
	}
	if n > 32 {
		return nil, f.errorf(ErrCorrupt, path, "filter pipeline with %d filters (max 32)", n)
	}
	var out []filter
	for i := 0; i < n && c.err == nil; i++ {
		var fl filter
		fl.id = c.u16()
		nameLen := 0
		if version == 1 || fl.id >= 256 {
			nameLen = int(c.u16())
		}
		fl.flags = c.u16()
		nvals := int(c.u16())
		if version == 1 {
			nameLen = align8(nameLen)
		}
		name := c.bytes(nameLen)
		if i := indexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		fl.name = string(name)
		if nvals > c.remaining()/4+1 {
			return nil, f.errorf(ErrCorrupt, path, "filter with %d parameters overruns its message", nvals)
		}
		for k := 0; k < nvals; k++ {
			fl.params = append(fl.params, c.u32())
		}
		if version == 1 && nvals%2 == 1 {
			c.skip(4)
		}
		out = append(out, fl)
	}
	if c.err != nil {
		return nil, f.errorf(ErrCorrupt, path, "filter pipeline message: %v", c.err)
	}
	for _, fl := range out {
		switch fl.id {
		case filterDeflate, filterShuffle, filterFletcher32:
		default:
			return nil, f.errorf(ErrUnsupported, path, "filter %d (%s); only deflate, shuffle and fletcher32 are read", fl.id, filterName(fl))
		}
	}
	return out, nil
}

func filterName(fl filter) string {
	switch fl.id {
	case 4:
		return "szip"
	case 5:
		return "nbit"
	case 6:
		return "scaleoffset"
	case 32000:
		return "lzf"
	}
	if fl.name != "" {
		return fl.name
	}
	return "unknown"
}

// unfilter undoes the filter pipeline (in reverse order), skipping filters
// whose bit is set in mask; the result must be exactly want bytes.
func (d *Dataset) unfilter(b []byte, mask uint32, want uint64) ([]byte, error) {
	f := d.f
	for i := len(d.filters) - 1; i >= 0; i-- {
		if i < 32 && mask&(1<<uint(i)) != 0 {
			continue
		}
		fl := d.filters[i]
		switch fl.id {
		case filterDeflate:
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, f.errorf(ErrCorrupt, d.path, "deflate chunk: %v", err)
			}
			var buf bytes.Buffer
			n, err := io.Copy(&buf, io.LimitReader(zr, int64(want)+1))
			if err != nil {
				return nil, f.errorf(ErrCorrupt, d.path, "deflate chunk: %v", err)
			}
			if uint64(n) > want {
				return nil, f.errorf(ErrCorrupt, d.path, "deflate chunk inflates beyond %d bytes", want)
			}
			b = buf.Bytes()
		case filterShuffle:
			size := d.dt.size
			if len(fl.params) > 0 {
				size = int(fl.params[0])
			}
			b = unshuffle(b, size)
		case filterFletcher32:
			if len(b) < 4 {
				return nil, f.errorf(ErrCorrupt, d.path, "fletcher32 chunk shorter than its checksum")
			}
			data, stored := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
			sum := fletcher32(data)
			// libhdf5 also accepts the checksum with the bytes of each
			// 16-bit half swapped (written by HDF5 releases before 1.6.1).
			swapped := (sum>>8)&0x00ff00ff | (sum<<8)&0xff00ff00
			if stored != sum && stored != swapped {
				return nil, f.errorf(ErrCorrupt, d.path, "fletcher32 checksum mismatch in a chunk (stored %#08x, computed %#08x)", stored, sum)
			}
			b = data
		}
	}
	if uint64(len(b)) != want {
		return nil, f.errorf(ErrCorrupt, d.path, "chunk holds %d bytes after filters, want %d", len(b), want)
	}
	return b, nil
}

// unshuffle reverses HDF5's byte shuffle: the input holds byte 0 of every
// element, then byte 1 of every element, ...; a tail shorter than one
// element is left as is.
func unshuffle(b []byte, size int) []byte {
	if size <= 1 || len(b) < size {
		return b
	}
	n := len(b) / size
	out := make([]byte, len(b))
	for k := 0; k < size; k++ {
		src := b[k*n : (k+1)*n]
		for e := 0; e < n; e++ {
			out[e*size+k] = src[e]
		}
	}
	copy(out[n*size:], b[n*size:])
	return out
}
