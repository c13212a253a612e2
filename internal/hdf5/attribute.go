package hdf5

import "fmt"

// Attribute is a small named value attached to a group or dataset.
type Attribute struct {
	Name string
	f    *File
	path string // owner path + "@" + name, for errors
	dt   dtype
	ds   dataspace
	n    int    // element count
	raw  []byte // n·dt.size bytes
}

// Shape is the attribute's dimensions (empty for a scalar).
func (a *Attribute) Shape() []int { return a.ds.shape() }

// Len is the number of elements (1 for a scalar).
func (a *Attribute) Len() int { return a.n }

// Type describes the element type like numpy: "<f4", "|S12", "vlen str", ...
func (a *Attribute) Type() string { return a.dt.String() }

// Strings returns the attribute's strings (fixed- or variable-length); a
// scalar gives one element and an empty attribute of any type gives none
// (Keras writes empty weight_names lists as empty float64 arrays).
func (a *Attribute) Strings() ([]string, error) {
	if a.n == 0 {
		return []string{}, nil
	}
	out := make([]string, a.n)
	switch {
	case a.dt.class == classString:
		for i := range out {
			out[i] = a.dt.fixedString(a.raw[i*a.dt.size : (i+1)*a.dt.size])
		}
	case a.dt.vlenStr:
		for i := range out {
			s, err := a.f.vlenString(a.raw[i*a.dt.size:(i+1)*a.dt.size], a.path)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
	default:
		return nil, a.f.errorf(ErrUnsupported, a.path, "attribute of type %s read as strings", a.dt)
	}
	return out, nil
}

// Float64s returns numeric attribute values converted to float64.
func (a *Attribute) Float64s() ([]float64, error) {
	if !a.dt.isNumeric() {
		return nil, a.f.errorf(ErrUnsupported, a.path, "attribute of type %s read as numbers", a.dt)
	}
	out := make([]float64, a.n)
	for i := range out {
		out[i] = a.dt.float64At(a.raw, i)
	}
	return out, nil
}

// Int64s returns integer attribute values; unsigned values above MaxInt64 are an error.
func (a *Attribute) Int64s() ([]int64, error) {
	if a.dt.class != classFixed {
		return nil, a.f.errorf(ErrUnsupported, a.path, "attribute of type %s read as integers", a.dt)
	}
	out := make([]int64, a.n)
	for i := range out {
		out[i] = a.dt.int64At(a.raw, i)
		if !a.dt.signed && a.dt.size == 8 && out[i] < 0 {
			return nil, a.f.errorf(ErrUnsupported, a.path, "unsigned value %d does not fit int64", a.dt.uint64At(a.raw, i))
		}
	}
	return out, nil
}

// attrNames lists the attribute names of the object at addr.
func (f *File) attrNames(addr uint64, path string) ([]string, error) {
	bodies, err := f.attrBodies(addr, path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(bodies))
	for _, b := range bodies {
		name, err := f.attrName(b, path)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// attr finds and decodes the attribute called name of the object at addr.
func (f *File) attr(addr uint64, path, name string) (*Attribute, error) {
	bodies, err := f.attrBodies(addr, path)
	if err != nil {
		return nil, err
	}
	for _, b := range bodies {
		n, err := f.attrName(b, path)
		if err != nil {
			return nil, err
		}
		if n == name {
			return f.parseAttribute(b, path)
		}
	}
	return nil, f.errorf(ErrNotFound, path, "no attribute %q", name)
}

// attrBodies returns (and caches) the attribute message bodies of the object
// at addr: first those in its header, then those in dense storage.
func (f *File) attrBodies(addr uint64, path string) ([][]byte, error) {
	if b, ok := f.attrs[addr]; ok {
		return b, nil
	}
	h, err := f.header(addr, path)
	if err != nil {
		return nil, err
	}
	var bodies [][]byte
	for _, m := range h.msgs {
		if m.typ != msgAttribute {
			continue
		}
		if m.flags&msgFlagShared != 0 {
			return nil, f.errorf(ErrUnsupported, path, "shared attribute message")
		}
		bodies = append(bodies, m.data)
	}
	if m := h.find(msgAttrInfo); m != nil {
		c := newCursor(m.data, f)
		c.u8() // version 0
		flags := c.u8()
		if flags&1 != 0 {
			c.u16() // maximum creation index
		}
		heapAddr, nameIndex := c.addr(), c.addr()
		if c.err != nil {
			return nil, f.errorf(ErrCorrupt, path, "attribute info message: %v", c.err)
		}
		if heapAddr != undefAddr {
			heap, err := f.openFractalHeap(heapAddr, path)
			if err != nil {
				return nil, err
			}
			err = f.walkBTreeV2(nameIndex, 8, path, func(rec []byte) error {
				// Record: heap ID (8), message flags (1), creation order (4), name hash (4).
				if len(rec) < 9 {
					return f.errorf(ErrCorrupt, path, "attribute name index record too short")
				}
				if rec[8]&msgFlagShared != 0 {
					return f.errorf(ErrUnsupported, path, "shared attribute message in dense storage")
				}
				b, err := heap.get(rec[:8], path)
				bodies = append(bodies, b)
				return err
			})
			if err != nil {
				return nil, err
			}
		}
	}
	f.attrs[addr] = bodies
	return bodies, nil
}

// attrLayout splits an attribute message into its name, datatype, dataspace and data.
func (f *File) attrLayout(b []byte, path string) (name string, dt, ds, data []byte, err error) {
	c := newCursor(b, f)
	version := c.u8()
	flags := c.u8()
	nameSize := int(c.u16())
	dtSize := int(c.u16())
	dsSize := int(c.u16())
	pad := func(n int) int { return n }
	switch version {
	case 1:
		pad = align8
	case 2:
	case 3:
		c.u8() // name character set
	default:
		if c.err == nil {
			return "", nil, nil, nil, f.errorf(ErrUnsupported, path, "attribute message version %d", version)
		}
	}
	if version > 1 && flags&3 != 0 {
		return "", nil, nil, nil, f.errorf(ErrUnsupported, path, "attribute with a shared datatype or dataspace")
	}
	nameB := c.bytes(pad(nameSize))
	dt = c.bytes(pad(dtSize))
	ds = c.bytes(pad(dsSize))
	if c.err != nil {
		return "", nil, nil, nil, f.errorf(ErrCorrupt, path, "attribute message: %v", c.err)
	}
	if nameSize > 0 {
		nameB = nameB[:nameSize]
	}
	if i := indexByte(nameB, 0); i >= 0 {
		nameB = nameB[:i]
	}
	return string(nameB), dt, ds, c.b[c.off:], nil
}

func indexByte(b []byte, v byte) int {
	for i, x := range b {
		if x == v {
			return i
		}
	}
	return -1
}

func (f *File) attrName(b []byte, path string) (string, error) {
	name, _, _, _, err := f.attrLayout(b, path)
	return name, err
}

// parseAttribute decodes a whole attribute message.
func (f *File) parseAttribute(b []byte, owner string) (*Attribute, error) {
	name, dtB, dsB, data, err := f.attrLayout(b, owner)
	if err != nil {
		return nil, err
	}
	path := fmt.Sprintf("%s@%s", owner, name)
	dt, err := f.parseDatatype(dtB, path)
	if err != nil {
		return nil, err
	}
	ds, err := f.parseDataspace(dsB, path)
	if err != nil {
		return nil, err
	}
	n, ok := ds.count()
	need, ok2 := mulCap(n, uint64(dt.size))
	if !ok || !ok2 || need > uint64(len(data)) {
		return nil, f.errorf(ErrCorrupt, path, "attribute data (%d elements of %d bytes) overruns its message (%d bytes)", n, dt.size, len(data))
	}
	return &Attribute{Name: name, f: f, path: path, dt: dt, ds: ds, n: int(n), raw: data[:need]}, nil
}

// vlenString reads one variable-length string element: length (4), global
// heap collection address, object index (4).
func (f *File) vlenString(elem []byte, path string) (string, error) {
	c := newCursor(elem, f)
	n := uint64(c.u32())
	coll := c.addr()
	index := c.u32()
	if c.err != nil {
		return "", f.errorf(ErrCorrupt, path, "variable-length element: %v", c.err)
	}
	if n == 0 {
		return "", nil
	}
	obj, err := f.globalHeapObject(coll, index, path)
	if err != nil {
		return "", err
	}
	if n > uint64(len(obj)) {
		return "", f.errorf(ErrCorrupt, path, "variable-length string of %d bytes in a %d-byte heap object", n, len(obj))
	}
	s := obj[:n]
	if i := indexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s), nil
}

// globalHeapObject returns object index of the global heap collection ("GCOL") at addr.
func (f *File) globalHeapObject(addr uint64, index uint32, path string) ([]byte, error) {
	head, err := f.readAt(addr, uint64(8+f.lengthSize), path, "global heap collection")
	if err != nil {
		return nil, err
	}
	c := newCursor(head, f)
	c.signature("GCOL")
	c.u8() // version 1
	c.skip(3)
	size := c.length()
	if c.err != nil {
		return nil, f.errorf(ErrCorrupt, path, "global heap collection at %d: %v", addr, c.err)
	}
	coll, err := f.readAt(addr, size, path, "global heap collection")
	if err != nil {
		return nil, err
	}
	c = newCursor(coll, f)
	c.skip(len(head))
	for c.remaining() >= 8+f.lengthSize {
		idx := c.u16()
		c.u16() // reference count
		c.u32()
		n := c.length()
		if idx == 0 { // free space: the rest of the collection
			break
		}
		if n > uint64(c.remaining()) {
			return nil, f.errorf(ErrCorrupt, path, "global heap object %d overruns its collection", idx)
		}
		data := c.bytes(int(n))
		if uint32(idx) == index {
			return data, nil
		}
		c.skip(min(align8(int(n))-int(n), c.remaining()))
	}
	return nil, f.errorf(ErrCorrupt, path, "global heap object %d not found in collection at %d", index, addr)
}
