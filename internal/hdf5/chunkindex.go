package hdf5

// Layout-version-4 chunk indexes (format spec §VII, HDF5 1.10+, written by
// h5py with libver='latest'):
//   1 single chunk      – the layout message holds the chunk's address;
//   2 implicit          – unfiltered chunks stored back to back;
//   3 fixed array       – "FAHD"/"FADB", one entry per chunk of the maximum extent;
//   4 extensible array  – "EAHD"/"EAIB"/"EASB"/"EADB", for one unlimited dimension;
//   5 version-2 B-tree  – records hold scaled chunk coordinates, for several unlimited dimensions.
// Array-indexed chunks are numbered row-major over the chunk grid of the
// maximum dimensions; for an extensible array the unlimited dimension is
// moved first ("swizzled") and is the slowest-varying.

// Chunk index types.
const (
	idxSingle     = 1
	idxImplicit   = 2
	idxFixedArray = 3
	idxExtArray   = 4
	idxBTree2     = 5
)

// parseLayoutV4Chunked decodes the chunked part of a version-4 layout message.
func (f *File) parseLayoutV4Chunked(c *cursor, l *layout, path string) error {
	l.flags = c.u8()
	dimensionality := int(c.u8())
	encLen := int(c.u8())
	if c.err == nil && (encLen < 1 || encLen > 8 || dimensionality < 2 || dimensionality > 33) {
		return f.errorf(ErrCorrupt, path, "layout: chunk dimension encoding %d bytes, rank %d", encLen, dimensionality)
	}
	for i := 0; i < dimensionality && c.err == nil; i++ {
		v := c.uvar(encLen)
		if i < dimensionality-1 {
			l.chunk = append(l.chunk, v)
		}
	}
	l.index = int(c.u8())
	switch l.index {
	case idxSingle:
		if l.flags&2 != 0 {
			l.singleSize = c.length()
			l.singleMask = c.u32()
		}
	case idxImplicit:
	case idxFixedArray:
		c.u8() // page bits (also in the array header)
	case idxExtArray:
		c.skip(5) // array parameters (also in the array header)
	case idxBTree2:
		c.skip(6) // node size, split and merge percent (also in the B-tree header)
	default:
		if c.err == nil {
			return f.errorf(ErrUnsupported, path, "chunk index type %d", l.index)
		}
	}
	l.addr = c.addr()
	return nil
}

// chunkGrid holds what array-indexed chunk lookups need: chunks per
// dimension of the maximum extent and their row-major strides ("down").
type chunkGrid struct {
	swizzle int      // dimension moved first (-1: none)
	chunks  []uint64 // chunks per (swizzled) dimension; [0] may be unlimited
	down    []uint64 // row-major strides over chunks
}

// grid builds the chunk grid over the maximum dims; unlimitedFirst moves the
// single unlimited dimension first (extensible arrays).
func (d *Dataset) grid(unlimitedFirst bool) (chunkGrid, error) {
	rank := len(d.ds.dims)
	g := chunkGrid{swizzle: -1, chunks: make([]uint64, rank), down: make([]uint64, rank)}
	order := make([]int, 0, rank)
	if unlimitedFirst {
		for k := 0; k < rank; k++ {
			if d.ds.max[k] == undefAddr {
				g.swizzle = k
			}
		}
		if g.swizzle < 0 {
			return g, d.f.errorf(ErrCorrupt, d.path, "extensible array chunk index without an unlimited dimension")
		}
		order = append(order, g.swizzle)
	}
	for k := 0; k < rank; k++ {
		if k != g.swizzle {
			order = append(order, k)
		}
	}
	for i, k := range order {
		m := d.ds.max[k]
		if m == undefAddr || m < d.ds.dims[k] {
			if i != 0 || !unlimitedFirst {
				return g, d.f.errorf(ErrUnsupported, d.path, "array chunk index with unlimited dimension %d", k)
			}
			m = d.ds.dims[k]
		}
		g.chunks[i] = (m + d.layout.chunk[k] - 1) / d.layout.chunk[k]
	}
	g.down[rank-1] = 1
	for i := rank - 2; i >= 0; i-- {
		var ok bool
		if g.down[i], ok = mulCap(g.down[i+1], g.chunks[i+1]); !ok {
			return g, d.f.errorf(ErrCorrupt, d.path, "chunk grid overflows")
		}
	}
	return g, nil
}

// offset converts a linear chunk index to the chunk's element offset.
func (d *Dataset) offset(g chunkGrid, idx uint64) []uint64 {
	rank := len(d.ds.dims)
	scaled := make([]uint64, rank)
	for i := 0; i < rank; i++ {
		scaled[i] = idx / g.down[i]
		if i > 0 && g.chunks[i] > 0 {
			scaled[i] %= g.chunks[i]
		}
	}
	if g.swizzle > 0 { // un-swizzle: scaled[0] belongs to dimension g.swizzle
		u := scaled[0]
		copy(scaled[:g.swizzle], scaled[1:g.swizzle+1])
		scaled[g.swizzle] = u
	}
	off := make([]uint64, rank)
	for k := range off {
		off[k] = scaled[k] * d.layout.chunk[k]
	}
	return off
}

// inside reports whether a chunk offset lies inside the dataset's current extent.
func (d *Dataset) inside(off []uint64) bool {
	for k, o := range off {
		if o >= d.ds.dims[k] {
			return false
		}
	}
	return true
}

// chunksV4 visits the stored chunks of a layout-4 chunk index.
func (d *Dataset) chunksV4(chunkBytes uint64, visit func(chunkRecord) error) error {
	f := d.f
	rank := len(d.ds.dims)
	filtered := len(d.filters) > 0
	switch d.layout.index {
	case idxSingle:
		rec := chunkRecord{offset: make([]uint64, rank), addr: d.layout.addr, size: chunkBytes}
		if d.layout.flags&2 != 0 {
			rec.size, rec.mask = d.layout.singleSize, d.layout.singleMask
		}
		if rec.addr == undefAddr {
			return nil
		}
		return visit(rec)
	case idxImplicit:
		if d.layout.addr == undefAddr {
			return nil
		}
		g, err := d.grid(false)
		if err != nil {
			return err
		}
		// Chunks lie back to back in row-major order over the grid of the
		// maximum extent; visit only those inside the current extent (the
		// maximum may be far larger than the file).
		scaled := make([]uint64, rank)
		for {
			var idx uint64
			off := make([]uint64, rank)
			for k := range scaled {
				idx += scaled[k] * g.down[k]
				off[k] = scaled[k] * d.layout.chunk[k]
			}
			at, ok := mulCap(idx, chunkBytes)
			if !ok || at > uint64(f.size) {
				return f.errorf(ErrCorrupt, d.path, "implicit chunk %v lies beyond the file", off)
			}
			if err := visit(chunkRecord{offset: off, addr: d.layout.addr + at, size: chunkBytes}); err != nil {
				return err
			}
			k := rank - 1
			for ; k >= 0; k-- {
				scaled[k]++
				if scaled[k]*d.layout.chunk[k] < d.ds.dims[k] {
					break
				}
				scaled[k] = 0
			}
			if k < 0 {
				return nil
			}
		}
	case idxFixedArray, idxExtArray:
		if d.layout.addr == undefAddr {
			return nil
		}
		g, err := d.grid(d.layout.index == idxExtArray)
		if err != nil {
			return err
		}
		entry := func(idx uint64, b []byte) error {
			c := newCursor(b, f)
			rec := chunkRecord{addr: c.addr(), size: chunkBytes}
			if filtered {
				rec.size = c.uvar(len(b) - f.offsetSize - 4)
				rec.mask = c.u32()
			}
			if c.err != nil || rec.addr == undefAddr {
				return nil
			}
			rec.offset = d.offset(g, idx)
			if !d.inside(rec.offset) {
				return f.errorf(ErrCorrupt, d.path, "chunk %d lies outside the dataset", idx)
			}
			return visit(rec)
		}
		if d.layout.index == idxFixedArray {
			return d.fixedArray(d.layout.addr, filtered, entry)
		}
		return d.extensibleArray(d.layout.addr, filtered, entry)
	case idxBTree2:
		want := uint8(10)
		if filtered {
			want = 11
		}
		return f.walkBTreeV2(d.layout.addr, want, d.path, func(b []byte) error {
			c := newCursor(b, f)
			rec := chunkRecord{addr: c.addr(), size: chunkBytes}
			if filtered {
				rec.size = c.uvar(len(b) - f.offsetSize - 4 - 8*rank)
				rec.mask = c.u32()
			}
			rec.offset = make([]uint64, rank)
			for k := range rec.offset {
				s, ok := mulCap(c.u64(), d.layout.chunk[k])
				if !ok {
					return f.errorf(ErrCorrupt, d.path, "chunk coordinate overflows")
				}
				rec.offset[k] = s
			}
			if c.err != nil {
				return f.errorf(ErrCorrupt, d.path, "chunk B-tree record: %v", c.err)
			}
			return visit(rec)
		})
	}
	return f.errorf(ErrUnsupported, d.path, "chunk index type %d", d.layout.index)
}

// entrySize checks an array entry size against the expected one.
func (d *Dataset) checkEntrySize(size int, filtered bool) error {
	f := d.f
	if (!filtered && size != f.offsetSize) || (filtered && (size <= f.offsetSize+4 || size > f.offsetSize+4+8)) {
		return f.errorf(ErrCorrupt, d.path, "chunk index entries of %d bytes", size)
	}
	return nil
}

// fixedArray visits every entry of the fixed array whose header ("FAHD") is at addr.
func (d *Dataset) fixedArray(addr uint64, filtered bool, entry func(idx uint64, b []byte) error) error {
	f := d.f
	head, err := f.readAt(addr, uint64(4+1+1+1+1+f.lengthSize+f.offsetSize+4), d.path, "fixed array header")
	if err != nil {
		return err
	}
	c := newCursor(head, f)
	c.signature("FAHD")
	c.u8() // version
	c.u8() // client id
	esize := int(c.u8())
	pageBits := int(c.u8())
	n := c.length()
	dblock := c.addr()
	if c.err != nil {
		return f.errorf(ErrCorrupt, d.path, "fixed array header: %v", c.err)
	}
	if err := f.checkSum(head, c.off, d.path, "fixed array header", addr); err != nil {
		return err
	}
	if err := d.checkEntrySize(esize, filtered); err != nil {
		return err
	}
	if pageBits > 32 || n > uint64(f.size) || dblock == undefAddr {
		if dblock == undefAddr {
			return nil
		}
		return f.errorf(ErrCorrupt, d.path, "fixed array of %d entries, page bits %d", n, pageBits)
	}
	// Data block ("FADB"): signature, version, client id, header address.
	prefix := uint64(4 + 1 + 1 + f.offsetSize)
	pageN := uint64(1) << pageBits
	if n <= pageN { // one unpaged block: prefix, entries, checksum
		b, err := f.readAt(dblock, prefix+n*uint64(esize)+4, d.path, "fixed array data block")
		if err != nil {
			return err
		}
		if err := d.checkBlock(b, "FADB", "fixed array data block", dblock); err != nil {
			return err
		}
		b = b[prefix:]
		for i := uint64(0); i < n; i++ {
			if err := entry(i, b[i*uint64(esize):(i+1)*uint64(esize)]); err != nil {
				return err
			}
		}
		return nil
	}
	// Paged: a bitmap of initialised pages follows the prefix, then a
	// checksum, then the pages (entries + checksum each).
	npages := (n + pageN - 1) / pageN
	blk, err := f.readAt(dblock, prefix+(npages+7)/8+4, d.path, "fixed array data block")
	if err != nil {
		return err
	}
	if err := d.checkBlock(blk, "FADB", "fixed array data block", dblock); err != nil {
		return err
	}
	bitmap := blk[prefix : len(blk)-4]
	pagesAt := dblock + uint64(len(blk))
	pageSize := pageN*uint64(esize) + 4
	for p := uint64(0); p < npages; p++ {
		if bitmap[p/8]&(0x80>>(p%8)) == 0 {
			continue
		}
		count := min(pageN, n-p*pageN)
		b, err := f.readAt(pagesAt+p*pageSize, count*uint64(esize)+4, d.path, "fixed array page")
		if err != nil {
			return err
		}
		if err := f.checkSum(b, len(b)-4, d.path, "fixed array page", pagesAt+p*pageSize); err != nil {
			return err
		}
		for i := uint64(0); i < count; i++ {
			if err := entry(p*pageN+i, b[i*uint64(esize):(i+1)*uint64(esize)]); err != nil {
				return err
			}
		}
	}
	return nil
}

// extensibleArray visits every set entry of the extensible array whose header ("EAHD") is at addr.
func (d *Dataset) extensibleArray(addr uint64, filtered bool, entry func(idx uint64, b []byte) error) error {
	f := d.f
	o, l := f.offsetSize, f.lengthSize
	head, err := f.readAt(addr, uint64(4+1+1+6+6*l+o+4), d.path, "extensible array header")
	if err != nil {
		return err
	}
	c := newCursor(head, f)
	c.signature("EAHD")
	c.u8() // version
	c.u8() // client id
	esize := int(c.u8())
	maxBits := int(c.u8())
	idxElems := uint64(c.u8())
	minDataElems := uint64(c.u8())
	minPtrs := uint64(c.u8())
	pageBits := int(c.u8())
	for i := 0; i < 4; i++ {
		c.length() // super/data block counts and sizes
	}
	maxIdx := c.length() // one past the highest index set
	c.length()           // number of elements realised
	iblock := c.addr()
	if c.err != nil {
		return f.errorf(ErrCorrupt, d.path, "extensible array header: %v", c.err)
	}
	if err := f.checkSum(head, c.off, d.path, "extensible array header", addr); err != nil {
		return err
	}
	if err := d.checkEntrySize(esize, filtered); err != nil {
		return err
	}
	pow2 := func(v uint64) bool { return v != 0 && v&(v-1) == 0 }
	if maxBits < 1 || maxBits > 64 || !pow2(minDataElems) || !pow2(minPtrs) || pageBits > 32 || maxIdx > uint64(f.size) {
		return f.errorf(ErrCorrupt, d.path, "extensible array with inconsistent parameters")
	}
	if iblock == undefAddr {
		return nil
	}
	es := uint64(esize)
	// Super block u holds 2^(u/2) data blocks of 2^((u+1)/2)·minDataElems entries.
	nsblks := 1 + maxBits - log2(minDataElems)
	if nsblks < 1 || nsblks > 64 {
		return f.errorf(ErrCorrupt, d.path, "extensible array with %d super blocks", nsblks)
	}
	type sblkInfo struct{ ndblks, nelems, startIdx uint64 }
	info := make([]sblkInfo, nsblks)
	var start uint64
	for u := range info {
		info[u] = sblkInfo{1 << (u / 2), (uint64(1) << ((u + 1) / 2)) * minDataElems, start}
		start += info[u].ndblks * info[u].nelems
	}
	iblkSblks := 2 * log2(minPtrs) // super blocks whose data blocks the index block addresses directly
	ndblkAddrs := 2 * (minPtrs - 1)
	nsblkAddrs := uint64(max(0, nsblks-iblkSblks))
	arrOff := (maxBits + 7) / 8
	pageN := uint64(1) << pageBits

	// Index block: prefix, idxElems entries, data block addresses, super block addresses, checksum.
	ib, err := f.readAt(iblock, uint64(4+1+1+o)+idxElems*es+(ndblkAddrs+nsblkAddrs)*uint64(o)+4, d.path, "extensible array index block")
	if err != nil {
		return err
	}
	if err := d.checkBlock(ib, "EAIB", "extensible array index block", iblock); err != nil {
		return err
	}
	pos := uint64(4 + 1 + 1 + o)
	for i := uint64(0); i < idxElems && i < maxIdx; i++ {
		if err := entry(i, ib[pos+i*es:pos+(i+1)*es]); err != nil {
			return err
		}
	}
	c = newCursor(ib[pos+idxElems*es:], f)
	dblkAddrs := make([]uint64, ndblkAddrs)
	for i := range dblkAddrs {
		dblkAddrs[i] = c.addr()
	}
	sblkAddrs := make([]uint64, nsblkAddrs)
	for i := range sblkAddrs {
		sblkAddrs[i] = c.addr()
	}
	// dataBlock visits the entries of one data block (of n entries starting at idx).
	dataBlock := func(addr, idx, n uint64, pageInit []byte) error {
		if addr == undefAddr || idx >= maxIdx {
			return nil
		}
		prefix := uint64(4 + 1 + 1 + o + arrOff)
		if n <= pageN {
			b, err := f.readAt(addr, prefix+n*es+4, d.path, "extensible array data block")
			if err != nil {
				return err
			}
			if err := d.checkBlock(b, "EADB", "extensible array data block", addr); err != nil {
				return err
			}
			b = b[prefix:]
			for i := uint64(0); i < n && idx+i < maxIdx; i++ {
				if err := entry(idx+i, b[i*es:(i+1)*es]); err != nil {
					return err
				}
			}
			return nil
		}
		if pageInit == nil {
			return f.errorf(ErrUnsupported, d.path, "paged extensible array data block without a page bitmap")
		}
		head, err := f.readAt(addr, prefix+4, d.path, "extensible array data block")
		if err != nil {
			return err
		}
		if err := d.checkBlock(head, "EADB", "extensible array data block", addr); err != nil {
			return err
		}
		pagesAt := addr + prefix + 4
		for p := uint64(0); p*pageN < n; p++ {
			if p/8 >= uint64(len(pageInit)) || pageInit[p/8]&(0x80>>(p%8)) == 0 {
				continue
			}
			at := pagesAt + p*(pageN*es+4)
			b, err := f.readAt(at, pageN*es+4, d.path, "extensible array data block page")
			if err != nil {
				return err
			}
			if err := f.checkSum(b, len(b)-4, d.path, "extensible array data block page", at); err != nil {
				return err
			}
			for i := uint64(0); i < pageN && idx+p*pageN+i < maxIdx; i++ {
				if err := entry(idx+p*pageN+i, b[i*es:(i+1)*es]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	k := 0
	for u := 0; u < nsblks; u++ {
		si := info[u]
		base := idxElems + si.startIdx
		if base >= maxIdx {
			break
		}
		if u < iblkSblks {
			for j := uint64(0); j < si.ndblks; j++ {
				if k >= len(dblkAddrs) {
					return f.errorf(ErrCorrupt, d.path, "extensible array index block is short of data block addresses")
				}
				if err := dataBlock(dblkAddrs[k], base+j*si.nelems, si.nelems, nil); err != nil {
					return err
				}
				k++
			}
			continue
		}
		sAddr := sblkAddrs[u-iblkSblks]
		if sAddr == undefAddr {
			continue
		}
		// Super block: prefix, block offset, page bitmaps (if its data blocks are paged), data block addresses, checksum.
		var bitmapSize uint64
		if si.nelems > pageN {
			bitmapSize = (si.nelems/pageN + 7) / 8
		}
		sb, err := f.readAt(sAddr, uint64(4+1+1+o+arrOff)+si.ndblks*(bitmapSize+uint64(o))+4, d.path, "extensible array super block")
		if err != nil {
			return err
		}
		if err := d.checkBlock(sb, "EASB", "extensible array super block", sAddr); err != nil {
			return err
		}
		p := uint64(4 + 1 + 1 + o + arrOff)
		bitmaps := sb[p : p+si.ndblks*bitmapSize]
		c := newCursor(sb[p+si.ndblks*bitmapSize:], f)
		for j := uint64(0); j < si.ndblks; j++ {
			var pi []byte
			if bitmapSize > 0 {
				pi = bitmaps[j*bitmapSize : (j+1)*bitmapSize]
			}
			if err := dataBlock(c.addr(), base+j*si.nelems, si.nelems, pi); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBlock checks that the chunk-index block b (read whole, checksum
// last) at addr starts with sig and that its checksum matches.
func (d *Dataset) checkBlock(b []byte, sig, what string, addr uint64) error {
	if len(b) < 8 || string(b[:4]) != sig {
		return d.f.errorf(ErrCorrupt, d.path, "%s at %d lacks its %s signature", what, addr, sig)
	}
	return d.f.checkSum(b, len(b)-4, d.path, what, addr)
}
