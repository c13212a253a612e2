package hdf5

// Version-2 B-trees (format spec §III.A.2): a header ("BTHD"), internal nodes
// ("BTIN": records then child pointers) and leaves ("BTLF"). We only iterate
// over all records; lookups by hash are not needed for the small groups and
// attribute sets in weight files.

// walkBTreeV2 calls visit with every record of the B-tree v2 whose header is
// at addr. wantType is the expected record type (5 link names, 8 attribute
// names, 1 huge objects, 10/11 chunks), or 0 to accept any.
func (f *File) walkBTreeV2(addr uint64, wantType uint8, path string, visit func(rec []byte) error) error {
	head, err := f.readAt(addr, uint64(4+1+1+4+2+2+1+1+f.offsetSize+2+f.lengthSize+4), path, "B-tree v2 header")
	if err != nil {
		return err
	}
	c := newCursor(head, f)
	c.signature("BTHD")
	c.u8() // version 0
	typ := c.u8()
	nodeSize := uint64(c.u32())
	recSize := uint64(c.u16())
	depth := int(c.u16())
	c.u8() // split percent
	c.u8() // merge percent
	root := c.addr()
	rootN := uint64(c.u16())
	total := c.length()
	if c.err != nil {
		return f.errorf(ErrCorrupt, path, "B-tree v2 header at %d: %v", addr, c.err)
	}
	if err := f.checkSum(head, len(head)-4, path, "B-tree v2 header", addr); err != nil {
		return err
	}
	if wantType != 0 && typ != wantType {
		return f.errorf(ErrCorrupt, path, "B-tree v2 at %d has record type %d, want %d", addr, typ, wantType)
	}
	if total == 0 || root == undefAddr {
		return nil
	}
	if recSize == 0 || nodeSize < 10+recSize || nodeSize > uint64(f.size) || depth > maxTreeDepth {
		return f.errorf(ErrCorrupt, path, "B-tree v2 at %d: node size %d, record size %d, depth %d", addr, nodeSize, recSize, depth)
	}
	// Sizes of the "number of records" fields in child pointers (H5B2hdr.c):
	// maxNrec[d] records fit a node at depth d; cumMaxNrec[d] in its subtree.
	const prefix = 10 // signature, version, type, checksum
	maxNrec := make([]uint64, depth+1)
	cumMax := make([]uint64, depth+1)
	cumSize := make([]int, depth+1)
	maxNrec[0] = (nodeSize - prefix) / recSize
	cumMax[0] = maxNrec[0]
	nrecSize := bytesFor(maxNrec[0])
	for d := 1; d <= depth; d++ {
		ptr := uint64(f.offsetSize + nrecSize)
		if d > 1 {
			ptr += uint64(cumSize[d-1])
		}
		if nodeSize < prefix+ptr {
			return f.errorf(ErrCorrupt, path, "B-tree v2 at %d: node size %d too small for depth %d", addr, nodeSize, depth)
		}
		maxNrec[d] = (nodeSize - prefix - ptr) / (recSize + ptr)
		m, ok1 := mulCap(maxNrec[d]+1, cumMax[d-1])
		cumMax[d] = m + maxNrec[d]
		if !ok1 || cumMax[d] < m {
			cumMax[d] = ^uint64(0)
		}
		cumSize[d] = bytesFor(cumMax[d])
	}
	seen := map[uint64]bool{}
	var walk func(addr uint64, depth int, n uint64) error
	walk = func(addr uint64, depth int, n uint64) error {
		if seen[addr] {
			return f.errorf(ErrCorrupt, path, "B-tree v2 node %d is reached twice (cycle)", addr)
		}
		seen[addr] = true
		if n > maxNrec[depth] {
			return f.errorf(ErrCorrupt, path, "B-tree v2 node at %d claims %d records (max %d)", addr, n, maxNrec[depth])
		}
		node, err := f.readAt(addr, nodeSize, path, "B-tree v2 node")
		if err != nil {
			return err
		}
		c := newCursor(node, f)
		if depth == 0 {
			c.signature("BTLF")
		} else {
			c.signature("BTIN")
		}
		c.u8()
		c.u8()
		recs := c.bytes(int(n * recSize))
		if c.err != nil {
			return f.errorf(ErrCorrupt, path, "B-tree v2 node at %d: %v", addr, c.err)
		}
		if depth == 0 {
			// Leaf: prefix, records, checksum.
			if err := f.checkSum(node, c.off, path, "B-tree v2 leaf node", addr); err != nil {
				return err
			}
			for i := uint64(0); i < n; i++ {
				if err := visit(recs[i*recSize : (i+1)*recSize]); err != nil {
					return err
				}
			}
			return nil
		}
		type child struct {
			addr uint64
			n    uint64
		}
		children := make([]child, n+1)
		for i := range children {
			children[i].addr = c.addr()
			children[i].n = c.uvar(nrecSize)
			if depth > 1 {
				c.uvar(cumSize[depth-1])
			}
		}
		if c.err != nil {
			return f.errorf(ErrCorrupt, path, "B-tree v2 node at %d: %v", addr, c.err)
		}
		// Internal node: prefix, records, child pointers, checksum.
		if err := f.checkSum(node, c.off, path, "B-tree v2 internal node", addr); err != nil {
			return err
		}
		for i, ch := range children {
			if err := walk(ch.addr, depth-1, ch.n); err != nil {
				return err
			}
			if uint64(i) < n {
				if err := visit(recs[uint64(i)*recSize : uint64(i+1)*recSize]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(root, depth, rootN)
}
