package hdf5

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Writer builds an HDF5 file in the subset Keras's legacy weight files use:
// superblock version 0, old-style groups (symbol table + version-1 B-tree +
// local heap), contiguous little-endian float32 datasets and fixed-length
// (NUL-padded ASCII, numpy 'S') string attributes. Build the tree with Root,
// Group, AddFloat32 and the Set*Attr methods, then call WriteFile or WriteTo.
//
// File layout: superblock (96 bytes), then the raw data of every dataset, then
// all metadata (object headers, heaps, B-tree and symbol table nodes).
type Writer struct {
	root *WGroup
}

// WGroup is a group being built by a Writer.
type WGroup struct {
	path     string
	groups   map[string]*WGroup
	datasets map[string]*wDataset
	attrs    []wAttr
	err      error // first misuse (duplicate name, bad shape), reported by WriteTo
}

type wDataset struct {
	shape []int
	data  []float32
	addr  uint64 // assigned when writing
}

// wAttr is a string attribute: an array (scalar=false) or a scalar.
type wAttr struct {
	name   string
	values []string
	scalar bool
}

// Group-tree parameters written to the superblock (HDF5's defaults): a symbol
// table node holds up to 2·leafK entries, a B-tree node up to 2·internalK children.
const (
	leafK      = 4
	internalK  = 16
	sizeOffset = 8
	sizeLength = 8
	superSize  = 96 // version-0 superblock with its root symbol table entry
	entrySize  = 2*sizeOffset + 24
)

// NewWriter returns an empty file with a root group.
func NewWriter() *Writer { return &Writer{root: newWGroup("/")} }

func newWGroup(path string) *WGroup {
	return &WGroup{path: path, groups: map[string]*WGroup{}, datasets: map[string]*wDataset{}}
}

// Root returns the root group "/".
func (w *Writer) Root() *WGroup { return w.root }

// Group returns the child group called name, creating it if needed. Names
// must be non-empty and contain no "/"; misuse is reported by WriteTo.
func (g *WGroup) Group(name string) *WGroup {
	if c, ok := g.groups[name]; ok {
		return c
	}
	c := newWGroup(joinPath(g.path, name))
	if err := g.checkName(name); err != nil {
		g.fail(err)
		return c
	}
	g.groups[name] = c
	return c
}

// SetStringsAttr sets a one-dimensional fixed-length string attribute (h5py
// dtype 'S<maxlen>'). An empty list is written as Keras writes it: an empty
// float64 array.
func (g *WGroup) SetStringsAttr(name string, values []string) {
	g.setAttr(wAttr{name: name, values: append([]string(nil), values...)})
}

// SetStringAttr sets a scalar fixed-length string attribute.
func (g *WGroup) SetStringAttr(name string, value string) {
	g.setAttr(wAttr{name: name, values: []string{value}, scalar: true})
}

func (g *WGroup) setAttr(a wAttr) {
	if a.name == "" {
		g.fail(fmt.Errorf("hdf5 writer: %s: empty attribute name", g.path))
		return
	}
	for i := range g.attrs {
		if g.attrs[i].name == a.name {
			g.attrs[i] = a
			return
		}
	}
	g.attrs = append(g.attrs, a)
}

// AddFloat32 adds a contiguous float32 dataset of the given shape (row-major
// data, len(data) == product of shape; an empty shape is a scalar). The data
// is not copied: do not modify it before writing.
func (g *WGroup) AddFloat32(name string, shape []int, data []float32) {
	if err := g.checkName(name); err != nil {
		g.fail(err)
		return
	}
	n := 1
	for _, s := range shape {
		if s < 0 {
			g.fail(fmt.Errorf("hdf5 writer: %s: negative dimension in shape %v", joinPath(g.path, name), shape))
			return
		}
		n *= s
	}
	if n != len(data) {
		g.fail(fmt.Errorf("hdf5 writer: %s: shape %v needs %d values, got %d", joinPath(g.path, name), shape, n, len(data)))
		return
	}
	g.datasets[name] = &wDataset{shape: append([]int(nil), shape...), data: data}
}

func (g *WGroup) checkName(name string) error {
	if name == "" || name == "." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("hdf5 writer: %s: invalid member name %q", g.path, name)
	}
	_, isG := g.groups[name]
	_, isD := g.datasets[name]
	if isG || isD {
		return fmt.Errorf("hdf5 writer: %s: member %q already exists", g.path, name)
	}
	return nil
}

func (g *WGroup) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// WriteFile writes the file atomically: to a temporary file in the same
// directory, synced, then renamed over path.
func (w *Writer) WriteFile(path string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("hdf5 writer: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if _, err = w.WriteTo(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("hdf5 writer: %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("hdf5 writer: %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("hdf5 writer: %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("hdf5 writer: %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("hdf5 writer: %w", err)
	}
	if d, e := os.Open(dir); e == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteTo writes the whole file to out and returns the number of bytes written.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	// Pass 1: check the tree and place every dataset's data after the superblock.
	var datasets []*wDataset
	dataEnd := uint64(superSize)
	var walk func(g *WGroup) error
	walk = func(g *WGroup) error {
		if g.err != nil {
			return g.err
		}
		for _, name := range sortedKeys(g.datasets) {
			d := g.datasets[name]
			d.addr = dataEnd
			dataEnd += uint64(align8(4 * len(d.data)))
			datasets = append(datasets, d)
		}
		for _, name := range sortedKeys(g.groups) {
			if err := walk(g.groups[name]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(w.root); err != nil {
		return 0, err
	}
	// Pass 2: build all metadata, addressed from the end of the data.
	m := &metaBuilder{base: dataEnd}
	root, err := m.group(w.root)
	if err != nil {
		return 0, err
	}
	eof := dataEnd + uint64(len(m.buf))

	// Superblock version 0 with the root group's symbol table entry.
	sb := make([]byte, 0, superSize)
	sb = append(sb, hdf5Signature...)
	sb = append(sb, 0, 0, 0, 0, 0, sizeOffset, sizeLength, 0) // versions, sizes
	sb = le16(sb, leafK)
	sb = le16(sb, internalK)
	sb = le32(sb, 0)          // file consistency flags
	sb = le64(sb, 0)          // base address
	sb = le64(sb, undefAddr)  // free-space info
	sb = le64(sb, eof)        // end of file
	sb = le64(sb, undefAddr)  // driver info
	sb = m.entry(sb, 0, root) // root symbol table entry (name offset 0)

	cw := &countWriter{w: out}
	cw.Write(sb)
	buf := make([]byte, 0, 1<<16)
	for _, d := range datasets {
		for i, v := range d.data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) >= 1<<16 || i == len(d.data)-1 {
				cw.Write(buf)
				buf = buf[:0]
			}
		}
		if pad := align8(4*len(d.data)) - 4*len(d.data); pad > 0 {
			cw.Write(make([]byte, pad))
		}
	}
	cw.Write(m.buf)
	if cw.err != nil {
		return cw.n, fmt.Errorf("hdf5 writer: %w", cw.err)
	}
	return cw.n, nil
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// metaBuilder appends metadata blocks; addresses are base + position.
type metaBuilder struct {
	base uint64
	buf  []byte
}

// alloc appends block (padded to 8 bytes) and returns its address.
func (m *metaBuilder) alloc(block []byte) uint64 {
	addr := m.base + uint64(len(m.buf))
	m.buf = append(m.buf, block...)
	m.buf = append(m.buf, make([]byte, align8(len(block))-len(block))...)
	return addr
}

// objRef is a written object: its header, and for groups the cached symbol table addresses.
type objRef struct {
	header      uint64
	isGroup     bool
	btree, heap uint64
}

// entry appends a symbol table entry; groups cache their B-tree and heap addresses (cache type 1).
func (m *metaBuilder) entry(b []byte, nameOff uint64, o objRef) []byte {
	b = le64(b, nameOff)
	b = le64(b, o.header)
	if o.isGroup {
		b = le32(b, 1)
		b = le32(b, 0)
		b = le64(b, o.btree)
		b = le64(b, o.heap)
		return b
	}
	b = le32(b, 0)
	b = le32(b, 0)
	return append(b, make([]byte, 16)...)
}

// member is a group member being written.
type member struct {
	name    string
	nameOff uint64
	ref     objRef
}

// group writes g and everything below it, children first.
func (m *metaBuilder) group(g *WGroup) (objRef, error) {
	var members []member
	for _, name := range sortedKeys(g.datasets) {
		members = append(members, member{name: name, ref: objRef{header: m.dataset(g.datasets[name])}})
	}
	for _, name := range sortedKeys(g.groups) {
		ref, err := m.group(g.groups[name])
		if err != nil {
			return ref, err
		}
		members = append(members, member{name: name, ref: ref})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].name < members[j].name })

	// Local heap: the empty string at offset 0, then every name, NUL-terminated, 8-aligned.
	heapData := make([]byte, 8)
	for i := range members {
		members[i].nameOff = uint64(len(heapData))
		heapData = append(heapData, members[i].name...)
		heapData = append(heapData, make([]byte, align8(len(members[i].name)+1)-len(members[i].name))...)
	}
	heapDataAddr := m.alloc(heapData)
	heap := []byte("HEAP")
	heap = append(heap, 0, 0, 0, 0)
	heap = le64(heap, uint64(len(heapData)))
	heap = le64(heap, 1) // free list: none (H5HL_FREE_NULL)
	heap = le64(heap, heapDataAddr)
	heapAddr := m.alloc(heap)

	// Symbol table nodes of up to 2·leafK entries, each allocated at full size.
	type child struct {
		addr    uint64
		lastOff uint64 // heap offset of the largest name below this child
	}
	var level []child
	for start := 0; start < len(members); start += 2 * leafK {
		end := min(start+2*leafK, len(members))
		node := []byte("SNOD")
		node = append(node, 1, 0)
		node = le16(node, uint16(end-start))
		for _, mb := range members[start:end] {
			node = m.entry(node, mb.nameOff, mb.ref)
		}
		node = append(node, make([]byte, 8+2*leafK*entrySize-len(node))...)
		level = append(level, child{m.alloc(node), members[end-1].nameOff})
	}
	// Version-1 B-tree (type 0), built bottom-up: keys are heap offsets of the
	// largest name in the child to their left; key 0 is the empty string.
	btreeNode := func(lvl int, kids []child) child {
		node := []byte("TREE")
		node = append(node, 0, byte(lvl))
		node = le16(node, uint16(len(kids)))
		node = le64(node, undefAddr) // left sibling
		node = le64(node, undefAddr) // right sibling
		node = le64(node, 0)
		var last uint64
		for _, k := range kids {
			node = le64(node, k.addr)
			node = le64(node, k.lastOff)
			last = k.lastOff
		}
		full := 24 + (2*internalK+1)*sizeLength + 2*internalK*sizeOffset
		node = append(node, make([]byte, full-len(node))...)
		return child{m.alloc(node), last}
	}
	lvl := 0
	for {
		var next []child
		for start := 0; start < len(level) || (start == 0 && len(level) == 0); start += 2 * internalK {
			next = append(next, btreeNode(lvl, level[start:min(start+2*internalK, len(level))]))
		}
		level = next
		lvl++
		if len(level) == 1 {
			break
		}
	}
	btree := level[0].addr

	// Object header: symbol table message, then attributes.
	msgs := [][]byte{wMessage(msgSymbolTable, 0, le64(le64(nil, btree), heapAddr))}
	for _, a := range g.attrs {
		body := attrMessage(a)
		if len(body) > 0xffff-8 {
			return objRef{}, fmt.Errorf("hdf5 writer: %s: attribute %q is %d bytes; HDF5 object header messages hold at most 64 KiB (Keras splits such lists into name0, name1, ...)", g.path, a.name, len(body))
		}
		msgs = append(msgs, wMessage(msgAttribute, 0, body))
	}
	return objRef{header: m.alloc(headerV1(msgs)), isGroup: true, btree: btree, heap: heapAddr}, nil
}

// dataset writes a contiguous float32 dataset's object header.
func (m *metaBuilder) dataset(d *wDataset) uint64 {
	addr, size := d.addr, uint64(4*len(d.data))
	if size == 0 {
		addr = undefAddr
	}
	layout := []byte{3, layoutContiguous}
	layout = le64(le64(layout, addr), size)
	msgs := [][]byte{
		wMessage(msgDataspace, 0, dataspaceV1(d.shape)),
		wMessage(msgDatatype, 1, float32Type()),
		wMessage(msgFill, 1, []byte{2, 2, 2, 1, 0, 0, 0, 0}), // as h5py: late alloc, default (zero) fill
		wMessage(msgLayout, 0, layout),
	}
	return m.alloc(headerV1(msgs))
}

// wMessage encodes a version-1 header message: type, size, flags, body padded to 8.
func wMessage(typ uint16, flags uint8, body []byte) []byte {
	b := le16(nil, typ)
	b = le16(b, uint16(align8(len(body))))
	b = append(b, flags, 0, 0, 0)
	b = append(b, body...)
	return append(b, make([]byte, align8(len(body))-len(body))...)
}

// headerV1 encodes a version-1 object header holding msgs.
func headerV1(msgs [][]byte) []byte {
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	b := []byte{1, 0}
	b = le16(b, uint16(len(msgs)))
	b = le32(b, 1) // reference count
	b = le32(b, uint32(size))
	b = le32(b, 0) // padding to 16 bytes
	for _, m := range msgs {
		b = append(b, m...)
	}
	return b
}

// dataspaceV1 encodes a version-1 dataspace (rank 0 is a scalar).
func dataspaceV1(shape []int) []byte {
	b := []byte{1, byte(len(shape)), 0, 0, 0, 0, 0, 0}
	for _, s := range shape {
		b = le64(b, uint64(s))
	}
	return b
}

// float32Type is the datatype message of IEEE little-endian float32 (H5T_IEEE_F32LE).
func float32Type() []byte {
	b := []byte{0x11, 0x20, 0x1f, 0x00}
	b = le32(b, 4)
	b = le16(b, 0)  // bit offset
	b = le16(b, 32) // precision
	b = append(b, 23, 8, 0, 23)
	return le32(b, 127)
}

// float64Type is H5T_IEEE_F64LE.
func float64Type() []byte {
	b := []byte{0x11, 0x20, 0x3f, 0x00}
	b = le32(b, 8)
	b = le16(b, 0)
	b = le16(b, 64)
	b = append(b, 52, 11, 0, 52)
	return le32(b, 1023)
}

// attrMessage encodes a version-1 attribute message holding a fixed-length
// NUL-padded string array or scalar (or, for an empty list, an empty float64 array).
func attrMessage(a wAttr) []byte {
	var dt, ds, data []byte
	if len(a.values) == 0 {
		dt = float64Type()
		ds = dataspaceV1([]int{0})
	} else {
		size := 1
		for _, v := range a.values {
			size = max(size, len(v))
		}
		dt = []byte{0x13, 0x01, 0, 0} // string, NUL-padded, ASCII
		dt = le32(dt, uint32(size))
		if a.scalar {
			ds = dataspaceV1(nil)
		} else {
			ds = dataspaceV1([]int{len(a.values)})
		}
		for _, v := range a.values {
			data = append(data, v...)
			data = append(data, make([]byte, size-len(v))...)
		}
	}
	b := []byte{1, 0}
	b = le16(b, uint16(len(a.name)+1))
	b = le16(b, uint16(len(dt)))
	b = le16(b, uint16(len(ds)))
	b = append(b, a.name...)
	b = append(b, make([]byte, align8(len(a.name)+1)-len(a.name))...)
	b = append(b, dt...)
	b = append(b, make([]byte, align8(len(dt))-len(dt))...)
	b = append(b, ds...)
	b = append(b, make([]byte, align8(len(ds))-len(ds))...)
	return append(b, data...)
}
