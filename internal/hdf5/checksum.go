package hdf5

import (
	"encoding/binary"
	"math/bits"
)

// Metadata checksums (format spec §II.B "checksum"): superblocks of version
// 2 and 3, version-2 object headers and their continuation blocks, version-2
// B-tree nodes, fractal heap blocks and the chunk-index arrays end in a
// 32-bit Jenkins lookup3 hash ("hashlittle", initial value 0) of the bytes
// before it, stored little-endian. libhdf5 refuses a structure whose stored
// and computed checksums differ, and so does this reader.

// lookup3 is Bob Jenkins' lookup3 hashlittle of b with initial value init:
// the bytes are taken 12 at a time as three little-endian 32-bit words that
// are added to the state (a, b, c) and mixed; the last 1–12 bytes are added
// zero-padded and the state goes through the final avalanche. An empty input
// returns the initial state c unmixed.
func lookup3(data []byte, init uint32) uint32 {
	a := 0xdeadbeef + uint32(len(data)) + init
	b, c := a, a
	rot := bits.RotateLeft32
	for len(data) > 12 {
		a += binary.LittleEndian.Uint32(data[0:])
		b += binary.LittleEndian.Uint32(data[4:])
		c += binary.LittleEndian.Uint32(data[8:])
		// mix: reversible, every input bit affects every state word.
		a -= c
		a ^= rot(c, 4)
		c += b
		b -= a
		b ^= rot(a, 6)
		a += c
		c -= b
		c ^= rot(b, 8)
		b += a
		a -= c
		a ^= rot(c, 16)
		c += b
		b -= a
		b ^= rot(a, 19)
		a += c
		c -= b
		c ^= rot(b, 4)
		b += a
		data = data[12:]
	}
	if len(data) == 0 {
		return c
	}
	var tail [12]byte
	copy(tail[:], data)
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	// final: avalanche of the three words into c.
	c ^= b
	c -= rot(b, 14)
	a ^= c
	a -= rot(c, 11)
	b ^= a
	b -= rot(a, 25)
	c ^= b
	c -= rot(b, 16)
	a ^= c
	a -= rot(c, 4)
	b ^= a
	b -= rot(a, 14)
	c ^= b
	c -= rot(b, 24)
	return c
}

// checkSum verifies the lookup3 checksum stored little-endian in the 4
// bytes of block that follow the first n bytes, which it covers; what names
// the structure (and where it is) in the error.
func (f *File) checkSum(block []byte, n int, path, what string, addr uint64) error {
	if n < 0 || n+4 > len(block) {
		return f.errorf(ErrCorrupt, path, "%s at %d is too short for its checksum", what, addr)
	}
	stored := binary.LittleEndian.Uint32(block[n:])
	if got := lookup3(block[:n], 0); got != stored {
		return f.errorf(ErrCorrupt, path, "%s at %d: checksum mismatch (stored %#08x, computed %#08x)", what, addr, stored, got)
	}
	return nil
}

// fletcher32 is HDF5's Fletcher checksum of a chunk (the fletcher32
// filter): the data as big-endian 16-bit words (an odd last byte is the
// high byte of a final word), two running sums folded into 16 bits
// (end-around carry, at least every 360 words so they never overflow),
// returned as sum2<<16 | sum1.
func fletcher32(data []byte) uint32 {
	var sum1, sum2 uint32
	fold := func() {
		sum1 = sum1&0xffff + sum1>>16
		sum2 = sum2&0xffff + sum2>>16
	}
	words := len(data) / 2
	for words > 0 {
		n := min(words, 360)
		words -= n
		for ; n > 0; n-- {
			sum1 += uint32(data[0])<<8 | uint32(data[1])
			sum2 += sum1
			data = data[2:]
		}
		fold()
	}
	if len(data) == 1 {
		sum1 += uint32(data[0]) << 8
		sum2 += sum1
		fold()
	}
	fold()
	return sum2<<16 | sum1
}
