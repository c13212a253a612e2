package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
)

// Dataset is an n-dimensional array of one datatype.
type Dataset struct {
	f       *File
	path    string
	addr    uint64
	h       *objectHeader
	dt      dtype
	ds      dataspace
	n       uint64 // element count
	layout  layout
	filters []filter
	fill    []byte // one element of fill value (nil: zeros)
}

// Layout classes (data layout message).
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
	layoutVirtual    = 3
)

// layout is a decoded data layout message.
type layout struct {
	version int
	class   int
	addr    uint64   // contiguous data, or chunk index
	size    uint64   // contiguous data size
	compact []byte   // compact data
	chunk   []uint64 // chunk dims (dataset rank, without the element-size dim)
	// Layout version 4 chunk index.
	index      int   // 1 single chunk, 2 implicit, 3 fixed array, 4 extensible array, 5 B-tree v2
	flags      uint8 // bit 1: the single chunk is filtered
	singleSize uint64
	singleMask uint32
}

// filter is one entry of a filter pipeline.
type filter struct {
	id     uint16
	flags  uint16
	name   string
	params []uint32
}

// Filter ids.
const (
	filterDeflate    = 1
	filterShuffle    = 2
	filterFletcher32 = 3
)

// Path is the dataset's absolute path.
func (d *Dataset) Path() string { return d.path }

// Shape is the dataset's dimensions (empty for a scalar).
func (d *Dataset) Shape() []int { return d.ds.shape() }

// Type describes the element type like numpy: "<f4", ">f8", "<i2", "|S8", ...
func (d *Dataset) Type() string { return d.dt.String() }

// Attr returns the dataset's attribute called name; the error wraps ErrNotFound when absent.
func (d *Dataset) Attr(name string) (*Attribute, error) { return d.f.attr(d.addr, d.path, name) }

// AttrNames lists the dataset's attribute names in storage order.
func (d *Dataset) AttrNames() ([]string, error) { return d.f.attrNames(d.addr, d.path) }

// ReadFloat32 reads the whole dataset in row-major order, converting float16,
// float64 and integer data to float32.
func (d *Dataset) ReadFloat32() ([]float32, error) {
	if !d.dt.isNumeric() {
		return nil, d.f.errorf(ErrUnsupported, d.path, "dataset of type %s read as float32", d.dt)
	}
	raw, err := d.readRaw()
	if err != nil {
		return nil, err
	}
	out := make([]float32, d.n)
	for i := range out {
		out[i] = d.dt.float32At(raw, i)
	}
	return out, nil
}

// ReadFloat64 reads the whole dataset converted to float64.
func (d *Dataset) ReadFloat64() ([]float64, error) {
	if !d.dt.isNumeric() {
		return nil, d.f.errorf(ErrUnsupported, d.path, "dataset of type %s read as float64", d.dt)
	}
	raw, err := d.readRaw()
	if err != nil {
		return nil, err
	}
	out := make([]float64, d.n)
	for i := range out {
		out[i] = d.dt.float64At(raw, i)
	}
	return out, nil
}

// openDataset decodes the dataset whose object header is at addr.
func (f *File) openDataset(addr uint64, path string) (*Dataset, error) {
	h, err := f.header(addr, path)
	if err != nil {
		return nil, err
	}
	d := &Dataset{f: f, path: path, addr: addr, h: h}
	need := func(typ uint16, what string) (*message, error) {
		m := h.find(typ)
		if m == nil {
			return nil, f.errorf(ErrCorrupt, path, "dataset has no %s message", what)
		}
		if m.flags&msgFlagShared != 0 {
			return nil, f.errorf(ErrUnsupported, path, "shared %s message (committed datatype?)", what)
		}
		return m, nil
	}
	m, err := need(msgDatatype, "datatype")
	if err != nil {
		return nil, err
	}
	if d.dt, err = f.parseDatatype(m.data, path); err != nil {
		return nil, err
	}
	if m, err = need(msgDataspace, "dataspace"); err != nil {
		return nil, err
	}
	if d.ds, err = f.parseDataspace(m.data, path); err != nil {
		return nil, err
	}
	n, ok := d.ds.count()
	bytes, ok2 := mulCap(n, uint64(d.dt.size))
	if !ok || !ok2 || bytes > 1<<62 {
		return nil, f.errorf(ErrCorrupt, path, "dataset size overflows")
	}
	d.n = n
	if m, err = need(msgLayout, "data layout"); err != nil {
		return nil, err
	}
	if d.layout, err = f.parseLayout(m.data, len(d.ds.dims), path); err != nil {
		return nil, err
	}
	if m := h.find(msgFilters); m != nil {
		if d.filters, err = f.parseFilters(m.data, path); err != nil {
			return nil, err
		}
	}
	if h.find(msgExternal) != nil {
		return nil, f.errorf(ErrUnsupported, path, "external data storage")
	}
	d.fill = f.parseFill(h, d.dt.size)
	return d, nil
}

// parseLayout decodes a data layout message (versions 1–4) for a dataset of the given rank.
func (f *File) parseLayout(b []byte, rank int, path string) (layout, error) {
	c := newCursor(b, f)
	var l layout
	l.version = int(c.u8())
	switch l.version {
	case 1, 2:
		dimensionality := int(c.u8())
		l.class = int(c.u8())
		c.skip(5)
		if l.class != layoutCompact {
			l.addr = c.addr()
		}
		dims := make([]uint64, 0, 8)
		for i := 0; i < dimensionality && c.err == nil; i++ {
			dims = append(dims, uint64(c.u32()))
		}
		switch l.class {
		case layoutChunked:
			c.u32() // element size
			if len(dims) < 1 {
				return l, f.errorf(ErrCorrupt, path, "chunked layout without dimensions")
			}
			l.chunk = dims[:len(dims)-1]
		case layoutCompact:
			l.compact = c.bytes(int(c.u32()))
		case layoutContiguous:
			l.size = ^uint64(0)
		}
	case 3, 4:
		l.class = int(c.u8())
		switch l.class {
		case layoutCompact:
			l.compact = c.bytes(int(c.u16()))
		case layoutContiguous:
			l.addr = c.addr()
			l.size = c.length()
		case layoutChunked:
			if l.version == 3 {
				dimensionality := int(c.u8())
				l.addr = c.addr()
				for i := 0; i < dimensionality-1 && c.err == nil; i++ {
					l.chunk = append(l.chunk, uint64(c.u32()))
				}
				c.u32() // element size
			} else if err := f.parseLayoutV4Chunked(c, &l, path); err != nil {
				return l, err
			}
		case layoutVirtual:
			return l, f.errorf(ErrUnsupported, path, "virtual dataset layout")
		default:
			return l, f.errorf(ErrCorrupt, path, "unknown layout class %d", l.class)
		}
	default:
		if c.err == nil {
			return l, f.errorf(ErrUnsupported, path, "data layout message version %d", l.version)
		}
	}
	if c.err != nil {
		return l, f.errorf(ErrCorrupt, path, "data layout message: %v", c.err)
	}
	if l.class == layoutChunked {
		if len(l.chunk) != rank {
			return l, f.errorf(ErrCorrupt, path, "chunk rank %d differs from dataset rank %d", len(l.chunk), rank)
		}
		for _, s := range l.chunk {
			if s == 0 {
				return l, f.errorf(ErrCorrupt, path, "chunk dimension of size 0")
			}
		}
	}
	return l, nil
}

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

// parseFill returns the dataset's fill value if one is defined with the element size, else nil.
func (f *File) parseFill(h *objectHeader, size int) []byte {
	if m := h.find(msgFill); m != nil {
		c := newCursor(m.data, f)
		switch c.u8() {
		case 1, 2:
			c.u8()
			c.u8()
			defined := c.u8()
			if defined == 0 {
				return nil
			}
		case 3:
			if c.u8()&0x20 == 0 {
				return nil
			}
		default:
			return nil
		}
		if n := int(c.u32()); n == size {
			if v := c.bytes(n); c.err == nil {
				return v
			}
		}
		return nil
	}
	if m := h.find(msgFillOld); m != nil {
		c := newCursor(m.data, f)
		if n := int(c.u32()); n == size {
			if v := c.bytes(n); c.err == nil {
				return v
			}
		}
	}
	return nil
}

// readRaw returns the whole dataset as raw element bytes in row-major order.
func (d *Dataset) readRaw() ([]byte, error) {
	f := d.f
	total := d.n * uint64(d.dt.size)
	switch d.layout.class {
	case layoutCompact:
		if uint64(len(d.layout.compact)) < total {
			return nil, f.errorf(ErrCorrupt, d.path, "compact data holds %d bytes, dataset needs %d", len(d.layout.compact), total)
		}
		return d.layout.compact[:total], nil
	case layoutContiguous:
		if d.layout.addr == undefAddr || total == 0 {
			return d.filled(total)
		}
		if d.layout.size < total {
			return nil, f.errorf(ErrCorrupt, d.path, "contiguous storage holds %d bytes, dataset needs %d", d.layout.size, total)
		}
		return f.readAt(d.layout.addr, total, d.path, "dataset data")
	case layoutChunked:
		return d.readChunked(total)
	}
	return nil, f.errorf(ErrUnsupported, d.path, "layout class %d", d.layout.class)
}

// filled returns total bytes of the fill value (zeros if none is defined).
func (d *Dataset) filled(total uint64) ([]byte, error) {
	if err := d.f.spend(total, d.path); err != nil {
		return nil, err
	}
	out := make([]byte, total)
	if d.fill != nil {
		for i := 0; i+len(d.fill) <= len(out); i += len(d.fill) {
			copy(out[i:], d.fill)
		}
	}
	return out, nil
}

// chunkRecord is one stored chunk: where it starts in the dataset (in
// elements), where it is in the file, its stored size and filter mask.
type chunkRecord struct {
	offset []uint64
	addr   uint64
	size   uint64
	mask   uint32
}

// readChunked assembles a chunked dataset from its chunks.
func (d *Dataset) readChunked(total uint64) ([]byte, error) {
	f := d.f
	out, err := d.filled(total)
	if err != nil {
		return nil, err
	}
	chunkElems := uint64(1)
	for _, s := range d.layout.chunk {
		var ok bool
		if chunkElems, ok = mulCap(chunkElems, s); !ok {
			return nil, f.errorf(ErrCorrupt, d.path, "chunk size overflows")
		}
	}
	chunkBytes, ok := mulCap(chunkElems, uint64(d.dt.size))
	if !ok || chunkBytes > 1<<32 {
		return nil, f.errorf(ErrCorrupt, d.path, "chunk of %d elements is too large", chunkElems)
	}
	if total == 0 {
		return out, nil
	}
	visit := func(rec chunkRecord) error {
		if len(rec.offset) < len(d.ds.dims) {
			return f.errorf(ErrCorrupt, d.path, "chunk offset has rank %d, want %d", len(rec.offset), len(d.ds.dims))
		}
		for k, o := range rec.offset[:len(d.ds.dims)] {
			if o >= d.ds.dims[k] {
				return f.errorf(ErrCorrupt, d.path, "chunk at offset %v lies outside the dataset %v", rec.offset, d.ds.dims)
			}
		}
		if d.layout.flags&1 != 0 { // layout 4 "don't filter partial edge chunks"
			for k, o := range rec.offset[:len(d.ds.dims)] {
				if o+d.layout.chunk[k] > d.ds.dims[k] {
					rec.mask = ^uint32(0)
				}
			}
		}
		if err := f.spend(chunkBytes, d.path); err != nil {
			return err
		}
		stored, err := f.readAt(rec.addr, rec.size, d.path, "chunk")
		if err != nil {
			return err
		}
		data, err := d.unfilter(stored, rec.mask, chunkBytes)
		if err != nil {
			return err
		}
		copyChunk(out, d.ds.dims, d.layout.chunk, rec.offset, data, d.dt.size)
		return nil
	}
	if d.layout.version < 4 {
		rank := len(d.ds.dims)
		keySize := 8 + 8*(rank+1)
		err = f.walkBTreeV1(d.layout.addr, 1, keySize, d.path, func(key []byte, child uint64) error {
			c := newCursor(key, f)
			rec := chunkRecord{size: uint64(c.u32()), mask: c.u32(), addr: child}
			for k := 0; k < rank; k++ {
				rec.offset = append(rec.offset, c.u64())
			}
			return visit(rec)
		})
	} else {
		err = d.chunksV4(chunkBytes, visit)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
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

// copyChunk copies a chunk (dims chunk, starting at element offset off) into
// the row-major dataset out of dimensions dims, clipping at the dataset edges.
func copyChunk(out []byte, dims, chunk, off []uint64, src []byte, esize int) {
	rank := len(dims)
	if rank == 0 {
		copy(out, src)
		return
	}
	// Row-major strides, in elements, of the dataset and of the chunk.
	dStride := make([]uint64, rank)
	cStride := make([]uint64, rank)
	dStride[rank-1], cStride[rank-1] = 1, 1
	for k := rank - 2; k >= 0; k-- {
		dStride[k] = dStride[k+1] * dims[k+1]
		cStride[k] = cStride[k+1] * chunk[k+1]
	}
	// ext is the part of the chunk inside the dataset (edge chunks are clipped).
	ext := make([]uint64, rank)
	for k := range ext {
		ext[k] = min(chunk[k], dims[k]-off[k])
	}
	last := rank - 1
	run := ext[last] * uint64(esize)
	idx := make([]uint64, rank) // position inside the chunk; idx[last] stays 0
	for {
		var dst, s uint64
		for k := 0; k < rank; k++ {
			dst += (off[k] + idx[k]) * dStride[k]
			s += idx[k] * cStride[k]
		}
		copy(out[dst*uint64(esize):dst*uint64(esize)+run], src[s*uint64(esize):])
		// Advance the index over all but the last dimension.
		k := last - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < ext[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// Strings reads a fixed- or variable-length string dataset.
func (d *Dataset) Strings() ([]string, error) {
	if d.dt.class != classString && !d.dt.vlenStr {
		return nil, d.f.errorf(ErrUnsupported, d.path, "dataset of type %s read as strings", d.dt)
	}
	raw, err := d.readRaw()
	if err != nil {
		return nil, err
	}
	a := &Attribute{f: d.f, path: d.path, dt: d.dt, ds: d.ds, n: int(d.n), raw: raw}
	return a.Strings()
}
