package hdf5

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Datatype classes (datatype message, low 4 bits of the first byte).
const (
	classFixed    = 0
	classFloat    = 1
	classTime     = 2
	classString   = 3
	classBitfield = 4
	classOpaque   = 5
	classCompound = 6
	classRef      = 7
	classEnum     = 8
	classVarLen   = 9
	classArray    = 10
)

var classNames = [...]string{"integer", "float", "time", "string", "bitfield", "opaque", "compound", "reference", "enum", "variable-length", "array"}

// dtype is a decoded datatype: the subset this package can convert.
type dtype struct {
	class     int
	size      int  // bytes per element
	bigEndian bool // byte order of integers and floats
	signed    bool // integers
	strPad    int  // strings: 0 NUL-terminated, 1 NUL-padded, 2 space-padded
	vlenStr   bool // variable-length string (element = length, heap address, index)
}

// String describes the type like numpy: "<f4", ">i2", "|S12", "vlen str".
func (t dtype) String() string {
	order := "<"
	if t.bigEndian {
		order = ">"
	}
	switch t.class {
	case classFloat:
		return fmt.Sprintf("%sf%d", order, t.size)
	case classFixed:
		if t.signed {
			return fmt.Sprintf("%si%d", order, t.size)
		}
		return fmt.Sprintf("%su%d", order, t.size)
	case classString:
		return fmt.Sprintf("|S%d", t.size)
	case classVarLen:
		return "vlen str"
	}
	return classNameOf(t.class)
}

func classNameOf(c int) string {
	if c >= 0 && c < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class %d", c)
}

// parseDatatype decodes a datatype message. Unsupported classes give an error
// wrapping ErrUnsupported that names the class.
func (f *File) parseDatatype(b []byte, path string) (dtype, error) {
	return f.parseDatatypeDepth(b, path, 0)
}

func (f *File) parseDatatypeDepth(b []byte, path string, depth int) (dtype, error) {
	c := newCursor(b, f)
	cv := c.u8()
	bits := [3]uint8{c.u8(), c.u8(), c.u8()}
	size := c.u32()
	if c.err != nil {
		return dtype{}, f.errorf(ErrCorrupt, path, "datatype message: %v", c.err)
	}
	t := dtype{class: int(cv & 0x0f), size: int(size)}
	if v := cv >> 4; v < 1 || v > 5 {
		return t, f.errorf(ErrCorrupt, path, "datatype message version %d (want 1 to 5)", v)
	}
	switch t.class {
	case classFixed:
		t.bigEndian = bits[0]&1 != 0
		t.signed = bits[0]&0x08 != 0
		if size < 1 || size > 8 {
			return t, f.errorf(ErrUnsupported, path, "%d-byte integer datatype", size)
		}
		offset, prec := c.u16(), c.u16()
		if c.err == nil && (offset != 0 || int(prec) != 8*int(size)) {
			return t, f.errorf(ErrUnsupported, path, "integer datatype with %d-bit precision at bit offset %d in %d bytes (only whole-byte integers are read)", prec, offset, size)
		}
	case classFloat:
		if err := f.checkIEEE(c, bits, size, path); err != nil {
			return t, err
		}
		t.bigEndian = bits[0]&1 != 0
	case classString:
		t.strPad = int(bits[0] & 0x0f)
		if size < 1 {
			return t, f.errorf(ErrCorrupt, path, "string datatype of size 0")
		}
	case classVarLen:
		kind := bits[0] & 0x0f
		if kind != 1 {
			return t, f.errorf(ErrUnsupported, path, "variable-length sequence datatype (only variable-length strings are read)")
		}
		t.vlenStr = true
		t.strPad = int(bits[0] >> 4)
		if depth > 2 {
			return t, f.errorf(ErrCorrupt, path, "datatype nested too deeply")
		}
		if int(size) != 4+f.offsetSize+4 {
			// HDF5 stores (length, collection address, object index); check it is that.
			return t, f.errorf(ErrCorrupt, path, "variable-length string element of %d bytes, want %d", size, 4+f.offsetSize+4)
		}
	default:
		return t, f.errorf(ErrUnsupported, path, "%s datatype", classNameOf(t.class))
	}
	if c.err != nil {
		return t, f.errorf(ErrCorrupt, path, "datatype message: %v", c.err)
	}
	return t, nil
}

// dataspace is a decoded dataspace message.
type dataspace struct {
	dims   []uint64
	max    []uint64 // maximum dims (undefAddr = unlimited); equal to dims when absent
	scalar bool     // rank 0 with one element
	null   bool     // no elements at all
}

// parseDataspace decodes a dataspace message (versions 1 and 2).
func (f *File) parseDataspace(b []byte, path string) (dataspace, error) {
	c := newCursor(b, f)
	version := c.u8()
	rank := int(c.u8())
	flags := c.u8()
	var ds dataspace
	switch version {
	case 1:
		c.skip(5)
		ds.scalar = rank == 0
	case 2:
		typ := c.u8()
		ds.scalar = typ == 0
		ds.null = typ == 2
	default:
		if c.err == nil {
			return ds, f.errorf(ErrUnsupported, path, "dataspace message version %d", version)
		}
	}
	if rank > 32 {
		return ds, f.errorf(ErrCorrupt, path, "dataspace of rank %d (HDF5 allows 32)", rank)
	}
	ds.dims = make([]uint64, rank)
	for i := range ds.dims {
		ds.dims[i] = c.length()
		if ds.dims[i] > 1<<48 && c.err == nil {
			return ds, f.errorf(ErrCorrupt, path, "dataspace dimension %d is %d", i, ds.dims[i])
		}
	}
	ds.max = ds.dims
	if flags&1 != 0 {
		ds.max = make([]uint64, rank)
		for i := range ds.max {
			ds.max[i] = c.length()
			if c.l < 8 && ds.max[i] == uint64(1)<<(8*c.l)-1 {
				ds.max[i] = undefAddr
			}
		}
	}
	if c.err != nil {
		return ds, f.errorf(ErrCorrupt, path, "dataspace message: %v", c.err)
	}
	return ds, nil
}

// count is the number of elements in the dataspace, or false on overflow.
func (ds dataspace) count() (uint64, bool) {
	if ds.null {
		return 0, true
	}
	n := uint64(1)
	for _, d := range ds.dims {
		var ok bool
		if n, ok = mulCap(n, d); !ok {
			return 0, false
		}
	}
	return n, true
}

// shape returns the dims as ints (callers have checked the element count fits).
func (ds dataspace) shape() []int {
	s := make([]int, len(ds.dims))
	for i, d := range ds.dims {
		s[i] = int(d)
	}
	return s
}

// ---- conversions from raw element bytes ----

func (t dtype) order() binary.ByteOrder {
	if t.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// isNumeric reports whether t converts to float64.
func (t dtype) isNumeric() bool { return t.class == classFixed || t.class == classFloat }

// float64At converts element i of raw (numeric types only).
func (t dtype) float64At(raw []byte, i int) float64 {
	b := raw[i*t.size : (i+1)*t.size]
	if t.class == classFloat {
		switch t.size {
		case 2:
			return float64(halfToFloat32(t.order().Uint16(b)))
		case 4:
			return float64(math.Float32frombits(t.order().Uint32(b)))
		default:
			return math.Float64frombits(t.order().Uint64(b))
		}
	}
	if t.signed {
		return float64(t.int64At(raw, i))
	}
	return float64(t.uint64At(raw, i))
}

// float32At converts element i of raw to float32 (float32 data is copied exactly).
func (t dtype) float32At(raw []byte, i int) float32 {
	if t.class == classFloat && t.size == 4 {
		return math.Float32frombits(t.order().Uint32(raw[i*4 : i*4+4]))
	}
	return float32(t.float64At(raw, i))
}

// uint64At reads integer element i zero-extended.
func (t dtype) uint64At(raw []byte, i int) uint64 {
	b := raw[i*t.size : (i+1)*t.size]
	var v uint64
	for k := 0; k < t.size; k++ {
		byteIdx := k
		if t.bigEndian {
			byteIdx = t.size - 1 - k
		}
		v |= uint64(b[byteIdx]) << (8 * k)
	}
	return v
}

// int64At reads integer element i, sign-extending signed types.
func (t dtype) int64At(raw []byte, i int) int64 {
	v := t.uint64At(raw, i)
	if t.signed && t.size < 8 {
		shift := 64 - 8*uint(t.size)
		return int64(v<<shift) >> shift
	}
	return int64(v)
}

// halfToFloat32 converts an IEEE binary16 value.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		v := float32(man) / 1024 / 16384
		if sign != 0 {
			return -v
		}
		return v
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// fixedString decodes one fixed-length string element the way numpy/h5py
// shows 'S' data: NUL padding (and, for space-padded types, spaces) trimmed.
func (t dtype) fixedString(b []byte) string {
	if t.strPad == 0 || t.strPad == 1 {
		if i := strings.IndexByte(string(b), 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	}
	return strings.TrimRight(string(b), " \x00")
}

// ieeeLayouts are the float bit layouts this reader converts: IEEE 754
// binary16, binary32 and binary64 by element size.
var ieeeLayouts = map[uint32]struct {
	expSize, manSize uint8
	bias             uint32
}{2: {5, 10, 15}, 4: {8, 23, 127}, 8: {11, 52, 1023}}

// checkIEEE reads the float properties of a datatype message (c is just past
// the element size) and refuses anything but an IEEE layout of the element
// size in little- or big-endian byte order: the value fills the element
// (bit offset 0, precision 8·size), the sign is the top bit, the exponent
// sits just above the mantissa with IEEE's width and bias, the mantissa
// starts at bit 0 with an implied leading one. Any other layout would decode
// to other numbers than libhdf5's conversion gives, so it is an error
// naming path.
func (f *File) checkIEEE(c *cursor, bits [3]uint8, size uint32, path string) error {
	offset, prec := c.u16(), c.u16()
	expLoc, expSize, manLoc, manSize := c.u8(), c.u8(), c.u8(), c.u8()
	bias := c.u32()
	if c.err != nil {
		return f.errorf(ErrCorrupt, path, "float datatype message: %v", c.err)
	}
	var problems []string
	want, ok := ieeeLayouts[size]
	switch {
	case !ok:
		problems = append(problems, fmt.Sprintf("%d-byte element (want 2, 4 or 8)", size))
	case expSize != want.expSize || manSize != want.manSize || bias != want.bias:
		problems = append(problems, fmt.Sprintf("exponent of %d bits with bias %d, mantissa of %d bits (IEEE: %d, %d, %d)",
			expSize, bias, manSize, want.expSize, want.bias, want.manSize))
	}
	if bits[0]&0x40 != 0 {
		problems = append(problems, "VAX byte order")
	}
	if norm := (bits[0] >> 4) & 3; norm != 2 {
		problems = append(problems, fmt.Sprintf("mantissa normalization %d (IEEE: 2, implied leading one)", norm))
	}
	if offset != 0 || uint32(prec) != 8*size {
		problems = append(problems, fmt.Sprintf("%d-bit precision at bit offset %d", prec, offset))
	}
	if uint32(bits[1]) != 8*size-1 {
		problems = append(problems, fmt.Sprintf("sign at bit %d (IEEE: %d)", bits[1], 8*size-1))
	}
	if manLoc != 0 || expLoc != manSize {
		problems = append(problems, fmt.Sprintf("mantissa at bit %d, exponent at bit %d (IEEE: 0, %d)", manLoc, expLoc, manSize))
	}
	if len(problems) > 0 {
		return f.errorf(ErrUnsupported, path, "float datatype is not IEEE 754 binary16/32/64: %s", strings.Join(problems, "; "))
	}
	return nil
}
