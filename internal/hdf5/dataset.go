package hdf5

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
	if d.fill, err = f.parseFill(h, d.dt.size, path); err != nil {
		return nil, err
	}
	if err := d.checkStorage(bytes); err != nil {
		return nil, err
	}
	return d, nil
}

// MaxDataBytes is the most bytes of data one dataset of this file can
// hold: data stored as is cannot exceed the file, and deflate expands at
// most ~1032:1, so compressed chunks and fill values are capped at
// maxDecompressGain times the file size (plus 1 MiB for tiny files).
func (f *File) MaxDataBytes() uint64 {
	return 1<<20 + uint64(max(f.size, 0))*maxDecompressGain
}

// checkStorage refuses, when the dataset is opened and before anything
// sized by it is allocated, a dataset whose declared size (n bytes) its
// storage cannot hold: contiguous data must lie inside the file, compact
// data inside its message, and anything else within MaxDataBytes.
func (d *Dataset) checkStorage(n uint64) error {
	f := d.f
	switch {
	case d.layout.class == layoutCompact && n > uint64(len(d.layout.compact)):
		return f.errorf(ErrCorrupt, d.path, "dataset of shape %v needs %d bytes, its compact storage holds %d", d.ds.dims, n, len(d.layout.compact))
	case d.layout.class == layoutContiguous && d.layout.addr != undefAddr && n > uint64(f.size):
		return f.errorf(ErrCorrupt, d.path, "dataset of shape %v needs %d bytes, more than the whole %d-byte file", d.ds.dims, n, f.size)
	case n > f.MaxDataBytes():
		return f.errorf(ErrCorrupt, d.path, "dataset of shape %v needs %d bytes, more than this %d-byte file can hold even compressed", d.ds.dims, n, f.size)
	}
	return nil
}

// Bytes is the dataset's size in bytes once read (elements × element size).
func (d *Dataset) Bytes() uint64 { return d.n * uint64(d.dt.size) }

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

// parseFill returns the dataset's fill value if one is defined with the
// element size, else nil. A fill value message that libhdf5 refuses when it
// opens the dataset (unknown version, a value overrunning the message) is
// an error.
func (f *File) parseFill(h *objectHeader, size int, path string) ([]byte, error) {
	value := func(c *cursor) ([]byte, error) {
		n := uint64(c.u32())
		if c.err != nil || n > uint64(c.remaining()) {
			return nil, f.errorf(ErrCorrupt, path, "fill value of %d bytes exceeds its message", n)
		}
		v := c.bytes(int(n))
		if int(n) != size {
			return nil, nil
		}
		return v, nil
	}
	if m := h.find(msgFill); m != nil {
		c := newCursor(m.data, f)
		switch v := c.u8(); v {
		case 1, 2:
			c.u8() // space allocation time
			c.u8() // fill value write time
			defined := c.u8()
			if c.err != nil {
				return nil, f.errorf(ErrCorrupt, path, "fill value message: %v", c.err)
			}
			if v == 2 && defined == 0 {
				return nil, nil
			}
			fill, err := value(c)
			if defined == 0 {
				fill = nil
			}
			return fill, err
		case 3:
			flags := c.u8()
			if c.err != nil {
				return nil, f.errorf(ErrCorrupt, path, "fill value message: %v", c.err)
			}
			if flags&0x20 == 0 {
				return nil, nil
			}
			return value(c)
		default:
			return nil, f.errorf(ErrCorrupt, path, "fill value message version %d", v)
		}
	}
	if m := h.find(msgFillOld); m != nil {
		return value(newCursor(m.data, f))
	}
	return nil, nil
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
		// Key: chunk size, filter mask, then the chunk's offset in each
		// dimension and a 0 for the element; keys order by offset.
		offsets := func(key []byte) []uint64 {
			c := newCursor(key[8:], f)
			o := make([]uint64, rank+1)
			for k := range o {
				o[k] = c.u64()
			}
			return o
		}
		cmp := func(a, b []byte) (int, error) {
			x, y := offsets(a), offsets(b)
			for k := range x {
				if x[k] != y[k] {
					if x[k] < y[k] {
						return -1, nil
					}
					return 1, nil
				}
			}
			return 0, nil
		}
		err = f.walkBTreeV1(d.layout.addr, 1, keySize, d.path, cmp, func(key, lo, hi []byte, child uint64) error {
			// A lookup finds this chunk only if lo <= its offset < hi.
			if r, _ := cmp(lo, key); r > 0 {
				return f.errorf(ErrCorrupt, d.path, "chunk B-tree: chunk at %v lies outside its node's key range", offsets(key)[:rank])
			}
			if r, _ := cmp(key, hi); r >= 0 {
				return f.errorf(ErrCorrupt, d.path, "chunk B-tree: chunk at %v lies outside its node's key range", offsets(key)[:rank])
			}
			c := newCursor(key, f)
			rec := chunkRecord{size: uint64(c.u32()), mask: c.u32(), addr: child}
			rec.offset = offsets(key)[:rank]
			// libhdf5 looks chunks up at multiples of the chunk size; a
			// chunk stored elsewhere is never found (its data is not read).
			for k, o := range rec.offset {
				if o%d.layout.chunk[k] != 0 {
					return f.errorf(ErrCorrupt, d.path, "chunk offset %v is not a multiple of the chunk shape %v", rec.offset, d.layout.chunk)
				}
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
