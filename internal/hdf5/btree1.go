package hdf5

// Version-1 B-trees (format spec §III.A.1, "TREE"): the index of old-style
// groups (node type 0: keys are local-heap offsets of names, children are
// symbol table nodes) and of chunked datasets before layout version 4
// (type 1: keys are chunk records). A node holds n children between n+1
// keys; child i covers the key range [key i, key i+1]. libhdf5 finds a
// member or a chunk by binary search over the keys, so a node whose keys
// are out of order makes it miss objects that a plain walk would find; the
// walk below checks the ordering, so that it sees what libhdf5 sees.

// walkBTreeV1 visits, in order, every leaf child of the version-1 B-tree at
// addr. keySize is the size of one key; cmp orders two keys (or reports an
// invalid key). The keys of a node must increase strictly. visit gets each
// leaf child's own key and the range [lo, hi] of keys a search can reach it
// with: its key range narrowed by every ancestor's, which the caller checks
// the child's contents against.
func (f *File) walkBTreeV1(addr uint64, nodeType uint8, keySize int, path string,
	cmp func(a, b []byte) (int, error), visit func(key, lo, hi []byte, child uint64) error) error {
	seen := map[uint64]bool{}
	var walk func(addr uint64, wantLevel int, lo, hi []byte) error
	walk = func(addr uint64, wantLevel int, lo, hi []byte) error {
		if seen[addr] {
			return f.errorf(ErrCorrupt, path, "B-tree node %d is reached twice (cycle)", addr)
		}
		seen[addr] = true
		head, err := f.readAt(addr, uint64(8+2*f.offsetSize), path, "B-tree node")
		if err != nil {
			return err
		}
		c := newCursor(head, f)
		c.signature("TREE")
		typ, level, n := c.u8(), int(c.u8()), int(c.u16())
		if c.err != nil {
			return f.errorf(ErrCorrupt, path, "B-tree node at %d: %v", addr, c.err)
		}
		if typ != nodeType {
			return f.errorf(ErrCorrupt, path, "B-tree node at %d has type %d, want %d", addr, typ, nodeType)
		}
		if (wantLevel >= 0 && level != wantLevel) || level > maxTreeDepth {
			return f.errorf(ErrCorrupt, path, "B-tree node at %d has level %d (want %d)", addr, level, wantLevel)
		}
		body, err := f.readAt(addr+uint64(len(head)), uint64((n+1)*keySize+n*f.offsetSize), path, "B-tree node entries")
		if err != nil {
			return err
		}
		// Keys and children alternate: key 0, child 0, key 1, ..., child n-1, key n.
		c = newCursor(body, f)
		keys := make([][]byte, n+1)
		children := make([]uint64, n)
		for i := 0; i <= n; i++ {
			keys[i] = c.bytes(keySize)
			if i < n {
				children[i] = c.addr()
			}
		}
		if c.err != nil {
			return f.errorf(ErrCorrupt, path, "B-tree node at %d: %v", addr, c.err)
		}
		order := func(a, b []byte, strict bool, what string) error {
			r, err := cmp(a, b)
			if err != nil {
				return err
			}
			if r > 0 || (strict && r == 0) {
				return f.errorf(ErrCorrupt, path, "B-tree node at %d: %s", addr, what)
			}
			return nil
		}
		for i := 0; i < n; i++ {
			if err := order(keys[i], keys[i+1], true, "keys out of order"); err != nil {
				return err
			}
		}
		// A search reaches child i only for keys inside both its own range
		// and every ancestor's: narrow [lo, hi] to that intersection.
		narrow := func(i int) (l, h []byte, err error) {
			l, h = keys[i], keys[i+1]
			if lo != nil {
				if r, err := cmp(lo, l); err != nil {
					return nil, nil, err
				} else if r > 0 {
					l = lo
				}
				if r, err := cmp(hi, h); err != nil {
					return nil, nil, err
				} else if r < 0 {
					h = hi
				}
			}
			return l, h, nil
		}
		for i := 0; i < n; i++ {
			l, h, err := narrow(i)
			if err != nil {
				return err
			}
			if level > 0 {
				err = walk(children[i], level-1, l, h)
			} else {
				err = visit(keys[i], l, h, children[i])
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return walk(addr, -1, nil, nil)
}
