package hdf5

import "encoding/binary"

// Fractal heaps (format spec §III.G): the storage behind dense links and dense
// attributes. Objects are found by heap IDs: "managed" objects live in direct
// blocks reached through a tree of indirect blocks, "tiny" objects live in the
// ID itself, and "huge" objects are stored on their own and found through a
// B-tree v2.

// fractalHeap is a decoded fractal heap header ("FRHP").
type fractalHeap struct {
	f          *File
	addr       uint64
	idLen      int
	flags      uint8
	hugeBTree  uint64
	width      uint64 // table width: blocks per row
	startBlock uint64 // starting block size
	maxDirect  uint64 // maximum direct block size
	maxHeapBit int    // maximum heap size in bits
	rootAddr   uint64
	curRows    int               // rows in the root indirect block; 0: root is a direct block
	offBytes   int               // bytes of a heap offset in IDs and block headers
	lenBytes   int               // bytes of a managed object's length in IDs
	maxDRows   int               // rows of direct blocks in an indirect block
	checked    map[uint64][]byte // blocks whose checksum was verified, by address
}

// openFractalHeap decodes the heap header at addr.
func (f *File) openFractalHeap(addr uint64, path string) (*fractalHeap, error) {
	o, l := uint64(f.offsetSize), uint64(f.lengthSize)
	// The header ends in a checksum (heaps with I/O filters, refused below,
	// have more fields before it).
	head, err := f.readAt(addr, 4+1+2+2+1+4+l+o+l+o+8*l+2+l+l+2+2+o+2+4, path, "fractal heap header")
	if err != nil {
		return nil, err
	}
	c := newCursor(head, f)
	c.signature("FRHP")
	c.u8() // version 0
	h := &fractalHeap{f: f, addr: addr, checked: map[uint64][]byte{}}
	h.idLen = int(c.u16())
	filterLen := c.u16()
	h.flags = c.u8()
	maxManaged := uint64(c.u32())
	c.length() // next huge object ID
	h.hugeBTree = c.addr()
	c.length() // free space in managed blocks
	c.addr()   // free-space manager
	for i := 0; i < 8; i++ {
		c.length() // managed space, allocated space, iterator offset, object counts and sizes
	}
	h.width = uint64(c.u16())
	h.startBlock = c.length()
	h.maxDirect = c.length()
	h.maxHeapBit = int(c.u16())
	c.u16() // starting rows in root indirect block
	h.rootAddr = c.addr()
	h.curRows = int(c.u16())
	if c.err != nil {
		return nil, f.errorf(ErrCorrupt, path, "fractal heap header at %d: %v", addr, c.err)
	}
	if filterLen != 0 {
		return nil, f.errorf(ErrUnsupported, path, "fractal heap with I/O filters")
	}
	if err := f.checkSum(head, len(head)-4, path, "fractal heap header", addr); err != nil {
		return nil, err
	}
	pow2 := func(v uint64) bool { return v != 0 && v&(v-1) == 0 }
	if h.width == 0 || h.width > 1<<16 || !pow2(h.startBlock) || !pow2(h.maxDirect) || h.maxDirect < h.startBlock ||
		h.maxHeapBit < 8 || h.maxHeapBit > 64 || h.idLen < 2 || h.idLen > 1<<10 || h.curRows > 64 {
		return nil, f.errorf(ErrCorrupt, path, "fractal heap at %d has inconsistent parameters", addr)
	}
	h.offBytes = (h.maxHeapBit + 7) / 8
	// H5HF_hdr_finish_init_phase1: min(offset size of the max direct block, bytes to encode the max managed size).
	h.lenBytes = min((log2(h.maxDirect)+7)/8, bytesFor(maxManaged))
	h.maxDRows = log2(h.maxDirect) - log2(h.startBlock) + 2
	return h, nil
}

// rowBlockSize is the size of the blocks in row r of an indirect block.
func (h *fractalHeap) rowBlockSize(r int) uint64 {
	if r == 0 {
		return h.startBlock
	}
	if r-1 >= 63 {
		return ^uint64(0)
	}
	s := h.startBlock << (r - 1)
	if s>>(r-1) != h.startBlock {
		return ^uint64(0)
	}
	return s
}

// get returns the bytes of the object named by heap ID id.
func (h *fractalHeap) get(id []byte, path string) ([]byte, error) {
	f := h.f
	if len(id) < 1 {
		return nil, f.errorf(ErrCorrupt, path, "empty fractal heap ID")
	}
	switch (id[0] >> 4) & 3 {
	case 0: // managed
		c := newCursor(id[1:], f)
		off := c.uvar(h.offBytes)
		n := c.uvar(h.lenBytes)
		if c.err != nil {
			return nil, f.errorf(ErrCorrupt, path, "fractal heap ID too short")
		}
		return h.managed(off, n, path)
	case 2: // tiny
		if h.idLen <= 18 {
			n := int(id[0]&0x0f) + 1
			if 1+n > len(id) {
				return nil, f.errorf(ErrCorrupt, path, "tiny heap object overruns its ID")
			}
			return id[1 : 1+n], nil
		}
		if len(id) < 2 {
			return nil, f.errorf(ErrCorrupt, path, "tiny heap object overruns its ID")
		}
		n := (int(id[0]&0x0f)<<8 | int(id[1])) + 1
		if 2+n > len(id) {
			return nil, f.errorf(ErrCorrupt, path, "tiny heap object overruns its ID")
		}
		return id[2 : 2+n], nil
	case 1: // huge
		return h.huge(id, path)
	}
	return nil, f.errorf(ErrCorrupt, path, "fractal heap ID of unknown type %d", (id[0]>>4)&3)
}

// huge returns a huge object: its address and length are in the ID itself
// ("directly accessed") or in a B-tree v2 record keyed by the ID.
func (h *fractalHeap) huge(id []byte, path string) ([]byte, error) {
	f := h.f
	if len(id)-1 >= f.offsetSize+f.lengthSize {
		c := newCursor(id[1:], f)
		addr, n := c.addr(), c.length()
		return f.readAt(addr, n, path, "huge heap object")
	}
	c := newCursor(id[1:], f)
	key := c.uvar(min(len(id)-1, 8))
	var addr, n uint64
	found := false
	err := f.walkBTreeV2(h.hugeBTree, 1, path, func(rec []byte) error {
		rc := newCursor(rec, f)
		a, l, k := rc.addr(), rc.length(), rc.length()
		if rc.err == nil && k == key && !found {
			addr, n, found = a, l, true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, f.errorf(ErrCorrupt, path, "huge heap object %d not found", key)
	}
	return f.readAt(addr, n, path, "huge heap object")
}

// managed finds the direct block holding heap offset off and returns n bytes there.
func (h *fractalHeap) managed(off, n uint64, path string) ([]byte, error) {
	f := h.f
	if h.curRows == 0 { // the root is a single direct block at heap offset 0
		return h.fromDirect(h.rootAddr, 0, h.startBlock, off, n, path)
	}
	blockAddr, blockOff, rows := h.rootAddr, uint64(0), h.curRows
	for depth := 0; depth < maxTreeDepth; depth++ {
		// Find the row and column of the child that covers off.
		base := blockOff
		found := false
		for r := 0; r < rows; r++ {
			size := h.rowBlockSize(r)
			span, ok := mulCap(size, h.width)
			if !ok {
				break
			}
			if off < base || off-base >= span {
				base += span
				continue
			}
			col := (off - base) / size
			childOff := base + col*size
			entry := uint64(r)*h.width + col
			b, err := h.indirect(blockAddr, rows, path)
			if err != nil {
				return nil, err
			}
			pos := uint64(4+1+f.offsetSize+h.offBytes) + entry*uint64(f.offsetSize)
			child := newCursor(b[pos:], f).addr()
			if child == undefAddr {
				return nil, f.errorf(ErrCorrupt, path, "fractal heap object at offset %d is in an unallocated block", off)
			}
			if r < h.maxDRows {
				return h.fromDirect(child, childOff, size, off, n, path)
			}
			// A child indirect block of size S has log2(S) - log2(start·width) + 1 rows.
			blockAddr, blockOff = child, childOff
			rows = log2(size) - log2(h.startBlock*h.width) + 1
			if rows < 1 || rows > 64 {
				return nil, f.errorf(ErrCorrupt, path, "fractal heap indirect block with %d rows", rows)
			}
			found = true
			break
		}
		if !found {
			return nil, f.errorf(ErrCorrupt, path, "fractal heap offset %d lies outside the heap", off)
		}
	}
	return nil, f.errorf(ErrCorrupt, path, "fractal heap is nested too deeply")
}

// fromDirect reads n bytes at heap offset off from the direct block at addr,
// which starts at heap offset blockOff and is size bytes long (header included).
func (h *fractalHeap) fromDirect(addr, blockOff, size, off, n uint64, path string) ([]byte, error) {
	f := h.f
	rel := off - blockOff
	hdr := uint64(4 + 1 + f.offsetSize + h.offBytes)
	if h.flags&2 != 0 {
		hdr += 4
	}
	if off < blockOff || rel < hdr || rel > size || n > size-rel {
		return nil, f.errorf(ErrCorrupt, path, "fractal heap object (offset %d, %d bytes) overruns its direct block", off, n)
	}
	b, ok := h.checked[addr]
	if ok && uint64(len(b)) != size {
		return nil, f.errorf(ErrCorrupt, path, "fractal heap block at %d is used with two sizes (%d and %d bytes)", addr, len(b), size)
	}
	if !ok {
		var err error
		if b, err = f.readAt(addr, size, path, "fractal heap direct block"); err != nil {
			return nil, err
		}
		if string(b[:4]) != "FHDB" {
			return nil, f.errorf(ErrCorrupt, path, "fractal heap direct block at %d lacks its signature", addr)
		}
		if h.flags&2 != 0 {
			// The checksum field ends the block header; it covers the whole
			// block with the field itself taken as zero.
			at := hdr - 4
			stored := binary.LittleEndian.Uint32(b[at:])
			z := append([]byte(nil), b...)
			clear(z[at : at+4])
			if got := lookup3(z, 0); got != stored {
				return nil, f.errorf(ErrCorrupt, path, "fractal heap direct block at %d: checksum mismatch (stored %#08x, computed %#08x)", addr, stored, got)
			}
		}
		h.checked[addr] = b
	}
	return b[rel : rel+n], nil
}

// indirect returns the indirect block ("FHIB") at addr with rows rows of
// h.width child addresses, after checking its signature and checksum:
// signature, version, heap header address, block offset, child addresses
// (direct block rows first), checksum.
func (h *fractalHeap) indirect(addr uint64, rows int, path string) ([]byte, error) {
	f := h.f
	entries, ok := mulCap(uint64(rows), h.width)
	if !ok || entries > uint64(f.size) {
		return nil, f.errorf(ErrCorrupt, path, "fractal heap indirect block at %d with %d rows of %d blocks", addr, rows, h.width)
	}
	n := uint64(4+1+f.offsetSize+h.offBytes) + entries*uint64(f.offsetSize)
	if b, ok := h.checked[addr]; ok {
		if uint64(len(b)) != n+4 {
			return nil, f.errorf(ErrCorrupt, path, "fractal heap block at %d is used with two sizes (%d and %d bytes)", addr, len(b), n+4)
		}
		return b, nil
	}
	b, err := f.readAt(addr, n+4, path, "fractal heap indirect block")
	if err != nil {
		return nil, err
	}
	if string(b[:4]) != "FHIB" {
		return nil, f.errorf(ErrCorrupt, path, "fractal heap indirect block at %d lacks its signature", addr)
	}
	if err := f.checkSum(b, int(n), path, "fractal heap indirect block", addr); err != nil {
		return nil, err
	}
	h.checked[addr] = b
	return b, nil
}
