package hdf5

import (
	"sort"
	"strings"
)

// Group is an HDF5 group: a named collection of links to groups and datasets.
type Group struct {
	f    *File
	path string
	addr uint64 // object header address
}

// Link kinds (link message "link type").
const (
	linkHard     = 0
	linkSoft     = 1
	linkExternal = 64
)

// link is one group member: a name and where it points.
type link struct {
	name   string
	kind   int
	addr   uint64 // object header address for hard links
	target string // soft or external link value
}

// Path is the group's absolute path, e.g. "/" or "/model_weights/dense".
func (g *Group) Path() string { return g.path }

// File is the file the group belongs to.
func (g *Group) File() *File { return g.f }

// Members lists the names of the group's links sorted by name (byte order),
// the way h5py lists them.
func (g *Group) Members() ([]string, error) {
	links, err := g.f.groupLinks(g.addr, g.path)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.name
	}
	sort.Strings(names)
	return names, nil
}

// Group returns the group at path, relative to g ("a/b") or absolute ("/a/b").
func (g *Group) Group(path string) (*Group, error) {
	addr, full, err := g.resolve(path)
	if err != nil {
		return nil, err
	}
	kind, err := g.f.objectKind(addr, full)
	if err != nil {
		return nil, err
	}
	if kind != kindGroup {
		return nil, g.f.errorf(ErrNotFound, full, "is a %s, not a group", kind)
	}
	return &Group{f: g.f, path: full, addr: addr}, nil
}

// Dataset returns the dataset at path, relative to g or absolute.
func (g *Group) Dataset(path string) (*Dataset, error) {
	addr, full, err := g.resolve(path)
	if err != nil {
		return nil, err
	}
	kind, err := g.f.objectKind(addr, full)
	if err != nil {
		return nil, err
	}
	if kind != kindDataset {
		return nil, g.f.errorf(ErrNotFound, full, "is a %s, not a dataset", kind)
	}
	return g.f.openDataset(addr, full)
}

// IsGroup reports whether the member name (or relative path) is a group; it
// is an error (wrapping ErrNotFound) if there is no such member.
func (g *Group) IsGroup(name string) (bool, error) {
	addr, full, err := g.resolve(name)
	if err != nil {
		return false, err
	}
	kind, err := g.f.objectKind(addr, full)
	return kind == kindGroup, err
}

// Attr returns the group's attribute called name; the error wraps ErrNotFound when absent.
func (g *Group) Attr(name string) (*Attribute, error) { return g.f.attr(g.addr, g.path, name) }

// AttrNames lists the group's attribute names in storage order.
func (g *Group) AttrNames() ([]string, error) { return g.f.attrNames(g.addr, g.path) }

// objKind says what an object header describes.
type objKind string

const (
	kindGroup    objKind = "group"
	kindDataset  objKind = "dataset"
	kindDatatype objKind = "committed datatype"
	kindUnknown  objKind = "object of unknown kind"
)

// objectKind classifies the object at addr by its header messages.
func (f *File) objectKind(addr uint64, path string) (objKind, error) {
	h, err := f.header(addr, path)
	if err != nil {
		return kindUnknown, err
	}
	switch {
	case h.find(msgSymbolTable) != nil || h.find(msgLinkInfo) != nil || h.find(msgLink) != nil || h.find(msgGroupInfo) != nil:
		return kindGroup, nil
	case h.find(msgLayout) != nil:
		return kindDataset, nil
	case h.find(msgDatatype) != nil:
		return kindDatatype, nil
	}
	return kindUnknown, nil
}

// joinPath appends name to a group path.
func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// resolve follows a relative or absolute path of hard links to an object header address.
func (g *Group) resolve(path string) (uint64, string, error) {
	addr, full := g.addr, g.path
	if strings.HasPrefix(path, "/") {
		addr, full = g.f.rootAddr, "/"
	}
	for _, name := range strings.Split(path, "/") {
		if name == "" || name == "." {
			continue
		}
		links, err := g.f.groupLinks(addr, full)
		if err != nil {
			return 0, "", err
		}
		var found *link
		for i := range links {
			if links[i].name == name {
				found = &links[i]
				break
			}
		}
		if found == nil {
			return 0, "", g.f.errorf(ErrNotFound, full, "no member %q", name)
		}
		full = joinPath(full, name)
		switch found.kind {
		case linkHard:
			addr = found.addr
		case linkSoft:
			return 0, "", g.f.errorf(ErrUnsupported, full, "soft link to %q", found.target)
		case linkExternal:
			return 0, "", g.f.errorf(ErrUnsupported, full, "external link")
		default:
			return 0, "", g.f.errorf(ErrUnsupported, full, "user-defined link type %d", found.kind)
		}
	}
	return addr, full, nil
}

// groupLinks returns (and caches) the members of the group whose header is at addr.
func (f *File) groupLinks(addr uint64, path string) ([]link, error) {
	if l, ok := f.links[addr]; ok {
		return l, nil
	}
	h, err := f.header(addr, path)
	if err != nil {
		return nil, err
	}
	var links []link
	if m := h.find(msgSymbolTable); m != nil {
		links, err = f.symbolTableLinks(m, path)
	} else if h.find(msgLinkInfo) != nil || h.find(msgLink) != nil || h.find(msgGroupInfo) != nil {
		links, err = f.newStyleLinks(h, path)
	} else {
		return nil, f.errorf(ErrNotFound, path, "is not a group")
	}
	if err != nil {
		return nil, err
	}
	f.links[addr] = links
	return links, nil
}

// ---- old-style groups: symbol table message → B-tree v1 → SNOD nodes + local heap names ----

// symbolTableLinks lists an old-style group's members.
func (f *File) symbolTableLinks(m *message, path string) ([]link, error) {
	c := newCursor(m.data, f)
	btree, heapAddr := c.addr(), c.addr()
	if c.err != nil {
		return nil, f.errorf(ErrCorrupt, path, "symbol table message: %v", c.err)
	}
	names, err := f.localHeap(heapAddr, path)
	if err != nil {
		return nil, err
	}
	// Keys are heap offsets of names; libhdf5 finds members by binary
	// search over them, so they must be valid and ordered (checked by
	// walkBTreeV1), and every member of a node must lie in its key range:
	// left key < name <= right key, in increasing order.
	name := func(key []byte) (string, error) {
		off := newCursor(key, f).length()
		s, ok := cstring(names, off)
		if !ok {
			return "", f.errorf(ErrCorrupt, path, "group B-tree key: name offset %d outside the local heap (%d bytes)", off, len(names))
		}
		return s, nil
	}
	cmp := func(a, b []byte) (int, error) {
		x, err := name(a)
		if err != nil {
			return 0, err
		}
		y, err := name(b)
		return strings.Compare(x, y), err
	}
	var links []link
	err = f.walkBTreeV1(btree, 0, f.lengthSize, path, cmp, func(_, left, right []byte, snod uint64) error {
		entries, err := f.symbolNode(snod, names, path)
		if err != nil {
			return err
		}
		lo, err := name(left)
		if err != nil {
			return err
		}
		hi, err := name(right)
		if err != nil {
			return err
		}
		prev := lo
		for _, e := range entries {
			if e.name <= prev || e.name > hi {
				return f.errorf(ErrCorrupt, path, "symbol table node at %d: member %q is out of order or outside its B-tree key range (%q, %q]", snod, e.name, lo, hi)
			}
			prev = e.name
		}
		links = append(links, entries...)
		return nil
	})
	return links, err
}

// localHeap returns the data segment of the local heap ("HEAP") at addr.
func (f *File) localHeap(addr uint64, path string) ([]byte, error) {
	head, err := f.readAt(addr, uint64(8+2*f.lengthSize+f.offsetSize), path, "local heap")
	if err != nil {
		return nil, err
	}
	c := newCursor(head, f)
	c.signature("HEAP")
	c.u8() // version 0
	c.skip(3)
	size := c.length()
	free := c.length() // offset of the first free block, 1 for none
	data := c.addr()
	if c.err != nil {
		return nil, f.errorf(ErrCorrupt, path, "local heap at %d: %v", addr, c.err)
	}
	b, err := f.readAt(data, size, path, "local heap data")
	if err != nil {
		return nil, err
	}
	// libhdf5 loads the free list with the heap and refuses a block that
	// starts or ends outside the data ("bad heap free list"). Each free
	// block holds (next offset, size); a list longer than the data could
	// hold blocks is a cycle.
	const none = 1
	for n := uint64(0); free != none; n++ {
		l := uint64(f.lengthSize)
		if free >= size || size-free < 2*l || n > size/(2*l) {
			return nil, f.errorf(ErrCorrupt, path, "local heap at %d: bad free list (block at %d in %d bytes)", addr, free, size)
		}
		fc := newCursor(b[free:], f)
		next, bsize := fc.length(), fc.length()
		if next == 0 || bsize > size-free {
			return nil, f.errorf(ErrCorrupt, path, "local heap at %d: bad free list (block at %d of %d bytes in %d, next at %d)", addr, free, bsize, size, next)
		}
		free = next
	}
	return b, nil
}

// symbolNode decodes a symbol table node ("SNOD") into links named from the local heap.
func (f *File) symbolNode(addr uint64, names []byte, path string) ([]link, error) {
	head, err := f.readAt(addr, 8, path, "symbol table node")
	if err != nil {
		return nil, err
	}
	c := newCursor(head, f)
	c.signature("SNOD")
	c.u8() // version 1
	c.u8()
	n := int(c.u16())
	if c.err != nil {
		return nil, f.errorf(ErrCorrupt, path, "symbol table node at %d: %v", addr, c.err)
	}
	entrySize := 2*f.offsetSize + 24
	body, err := f.readAt(addr+8, uint64(n*entrySize), path, "symbol table node entries")
	if err != nil {
		return nil, err
	}
	c = newCursor(body, f)
	links := make([]link, 0, n)
	for i := 0; i < n; i++ {
		nameOff := c.addr()
		objAddr := c.addr()
		cacheType := c.u32()
		c.u32()
		scratch := c.bytes(16)
		if c.err != nil {
			return nil, f.errorf(ErrCorrupt, path, "symbol table node at %d: %v", addr, c.err)
		}
		name, ok := cstring(names, nameOff)
		if !ok {
			return nil, f.errorf(ErrCorrupt, path, "member name offset %d outside local heap (%d bytes)", nameOff, len(names))
		}
		l := link{name: name, kind: linkHard, addr: objAddr}
		if cacheType == 2 { // soft link: scratch holds the offset of its value in the local heap
			l.kind = linkSoft
			off := uint64(scratch[0]) | uint64(scratch[1])<<8 | uint64(scratch[2])<<16 | uint64(scratch[3])<<24
			l.target, _ = cstring(names, off)
		}
		links = append(links, l)
	}
	return links, nil
}

// ---- new-style groups: link messages, or a fractal heap indexed by a B-tree v2 ----

// newStyleLinks lists a new-style group's members: compact link messages in
// the header plus, for dense storage, the links in the fractal heap.
func (f *File) newStyleLinks(h *objectHeader, path string) ([]link, error) {
	var links []link
	for _, m := range h.msgs {
		if m.typ != msgLink {
			continue
		}
		l, err := f.parseLink(m.data, path)
		if err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	m := h.find(msgLinkInfo)
	if m == nil {
		return links, nil
	}
	c := newCursor(m.data, f)
	c.u8() // version 0
	flags := c.u8()
	if flags&1 != 0 {
		c.u64() // maximum creation index
	}
	heapAddr, nameIndex := c.addr(), c.addr()
	if c.err != nil {
		return nil, f.errorf(ErrCorrupt, path, "link info message: %v", c.err)
	}
	if heapAddr == undefAddr {
		return links, nil // compact storage
	}
	heap, err := f.openFractalHeap(heapAddr, path)
	if err != nil {
		return nil, err
	}
	err = f.walkBTreeV2(nameIndex, 5, path, func(rec []byte) error {
		if len(rec) < 4 {
			return f.errorf(ErrCorrupt, path, "link name index record too short")
		}
		obj, err := heap.get(rec[4:], path)
		if err != nil {
			return err
		}
		l, err := f.parseLink(obj, path)
		if err != nil {
			return err
		}
		links = append(links, l)
		return nil
	})
	return links, err
}

// parseLink decodes a link message (type 0x06).
func (f *File) parseLink(b []byte, path string) (link, error) {
	c := newCursor(b, f)
	version := c.u8()
	flags := c.u8()
	if c.err == nil && version != 1 {
		return link{}, f.errorf(ErrUnsupported, path, "link message version %d", version)
	}
	l := link{kind: linkHard}
	if flags&0x08 != 0 {
		l.kind = int(c.u8())
	}
	if flags&0x04 != 0 {
		c.u64() // creation order
	}
	if flags&0x10 != 0 {
		c.u8() // character set
	}
	nameLen := c.uvar(1 << (flags & 3))
	if nameLen > uint64(c.remaining()) {
		return link{}, f.errorf(ErrCorrupt, path, "link name length %d overruns its message", nameLen)
	}
	l.name = string(c.bytes(int(nameLen)))
	switch l.kind {
	case linkHard:
		l.addr = c.addr()
	case linkSoft, linkExternal:
		n := int(c.u16())
		l.target = string(c.bytes(n))
	}
	if c.err != nil {
		return link{}, f.errorf(ErrCorrupt, path, "link message %q: %v", l.name, c.err)
	}
	if l.name == "" || strings.Contains(l.name, "/") {
		return link{}, f.errorf(ErrCorrupt, path, "invalid link name %q", l.name)
	}
	return l, nil
}
