package hdf5

import (
	"errors"
	"fmt"
)

// undefAddr is HDF5's "undefined address" (all bits set), normalised to 64 bits
// whatever the file's size of offsets.
const undefAddr = ^uint64(0)

// errShort is recorded by a cursor that was asked to read past the end of its buffer.
var errShort = errors.New("structure is truncated or a field points outside it")

// cursor decodes little-endian fields from one in-memory structure. It never
// panics: a read past the end records errShort in err and returns zeros, so a
// parser can decode a whole structure and check err once.
type cursor struct {
	b   []byte
	off int
	o   int // size of offsets (addresses) in bytes: 2, 4 or 8
	l   int // size of lengths in bytes: 2, 4 or 8
	err error
}

func newCursor(b []byte, f *File) *cursor {
	return &cursor{b: b, o: f.offsetSize, l: f.lengthSize}
}

// need reports whether n more bytes are available, recording errShort if not.
func (c *cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || n > len(c.b)-c.off {
		c.err = errShort
		return false
	}
	return true
}

func (c *cursor) remaining() int { return len(c.b) - c.off }

func (c *cursor) u8() uint8 {
	if !c.need(1) {
		return 0
	}
	v := c.b[c.off]
	c.off++
	return v
}

func (c *cursor) u16() uint16 { return uint16(c.uvar(2)) }
func (c *cursor) u32() uint32 { return uint32(c.uvar(4)) }
func (c *cursor) u64() uint64 { return c.uvar(8) }

// uvar reads an n-byte little-endian unsigned integer (n ≤ 8; wider fields
// must be handled by the caller).
func (c *cursor) uvar(n int) uint64 {
	if n > 8 {
		c.err = fmt.Errorf("%d-byte integer field is wider than 8 bytes", n)
		return 0
	}
	if !c.need(n) {
		return 0
	}
	var v uint64
	for i := 0; i < n; i++ {
		v |= uint64(c.b[c.off+i]) << (8 * i)
	}
	c.off += n
	return v
}

// addr reads a file address; all-ones becomes undefAddr.
func (c *cursor) addr() uint64 {
	v := c.uvar(c.o)
	if c.err == nil && c.o < 8 && v == (uint64(1)<<(8*c.o))-1 {
		return undefAddr
	}
	return v
}

// length reads a "size of lengths" field.
func (c *cursor) length() uint64 { return c.uvar(c.l) }

// bytes returns the next n bytes (a sub-slice, not a copy).
func (c *cursor) bytes(n int) []byte {
	if !c.need(n) {
		return nil
	}
	v := c.b[c.off : c.off+n]
	c.off += n
	return v
}

func (c *cursor) skip(n int) {
	if c.need(n) {
		c.off += n
	}
}

// signature checks a 4-byte signature such as "TREE".
func (c *cursor) signature(sig string) bool {
	b := c.bytes(len(sig))
	if c.err != nil {
		return false
	}
	if string(b) != sig {
		c.err = fmt.Errorf("bad signature %q, want %q", b, sig)
		return false
	}
	return true
}

// cstring returns the NUL-terminated string starting at off in b.
func cstring(b []byte, off uint64) (string, bool) {
	if off >= uint64(len(b)) {
		return "", false
	}
	for i := off; i < uint64(len(b)); i++ {
		if b[i] == 0 {
			return string(b[off:i]), true
		}
	}
	return "", false
}

// align8 rounds n up to a multiple of 8.
func align8(n int) int { return (n + 7) &^ 7 }

// bytesFor is the number of bytes needed to store values up to max
// (HDF5's H5VM_limit_enc_size: floor(log2(max))/8 + 1).
func bytesFor(max uint64) int {
	bits := 0
	for v := max; v > 1; v >>= 1 {
		bits++
	}
	return bits/8 + 1
}

// log2 of a power of two (or floor(log2) otherwise); 0 for v ≤ 1.
func log2(v uint64) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}

// mulCap multiplies a·b, reporting false on overflow.
func mulCap(a, b uint64) (uint64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	if p/b != a {
		return 0, false
	}
	return p, true
}
