package hdf5

// Object headers (format spec §IV.A): version 1 (no signature, 8-byte aligned
// messages) and version 2 ("OHDR", compact message headers, "OCHK"
// continuation blocks). Both can continue in further blocks named by
// continuation messages (type 0x10).

// Header message types used by this package.
const (
	msgNil          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgFillOld      = 0x04
	msgFill         = 0x05
	msgLink         = 0x06
	msgExternal     = 0x07
	msgLayout       = 0x08
	msgGroupInfo    = 0x0A
	msgFilters      = 0x0B
	msgAttribute    = 0x0C
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgAttrInfo     = 0x15
)

// Message flag bit: the message is stored elsewhere (shared message / committed datatype).
const msgFlagShared = 0x02

// message is one decoded header message: its type, flags and raw body.
type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// objectHeader is an object's list of header messages, from all its chunks.
type objectHeader struct {
	addr    uint64
	version int
	flags   uint8 // version 2 header flags (bit 2: messages carry a creation order)
	msgs    []message
}

// find returns the first message of type typ, or nil.
func (h *objectHeader) find(typ uint16) *message {
	for i := range h.msgs {
		if h.msgs[i].typ == typ {
			return &h.msgs[i]
		}
	}
	return nil
}

// header reads (and caches) the object header at addr; path names the object in errors.
func (f *File) header(addr uint64, path string) (*objectHeader, error) {
	if h, ok := f.headers[addr]; ok {
		return h, nil
	}
	start, err := f.readUpTo(addr, 16, path, "object header")
	if err != nil {
		return nil, err
	}
	var h *objectHeader
	if len(start) >= 4 && string(start[:4]) == "OHDR" {
		h, err = f.headerV2(addr, path)
	} else {
		h, err = f.headerV1(addr, path)
	}
	if err != nil {
		return nil, err
	}
	f.headers[addr] = h
	return h, nil
}

// chunkRef is a header chunk to read: size bytes of messages at addr. For
// the first chunk of a version-2 header, prefix is the length of the "OHDR"
// prefix before addr (the chunk's checksum covers it and follows the
// messages); continuation blocks have prefix 0 and size covering their
// "OCHK" signature and checksum.
type chunkRef struct{ addr, size, prefix uint64 }

// headerV1 decodes a version-1 object header: a 16-byte prefix then 8-byte aligned messages.
func (f *File) headerV1(addr uint64, path string) (*objectHeader, error) {
	pre, err := f.readAt(addr, 16, path, "object header")
	if err != nil {
		return nil, err
	}
	c := newCursor(pre, f)
	version := c.u8()
	if version != 1 {
		return nil, f.errorf(ErrCorrupt, path, "object header at %d: version %d (want 1, or an OHDR signature)", addr, version)
	}
	c.u8()
	c.u16() // number of messages (we trust the chunk sizes instead)
	c.u32() // reference count
	size := uint64(c.u32())
	h := &objectHeader{addr: addr, version: 1}
	err = f.headerChunks(h, chunkRef{addr: addr + 16, size: size}, path)
	return h, err
}

// headerV2 decodes a version-2 object header ("OHDR").
func (f *File) headerV2(addr uint64, path string) (*objectHeader, error) {
	pre, err := f.readUpTo(addr, 4+1+1+16+4+8, path, "object header")
	if err != nil {
		return nil, err
	}
	c := newCursor(pre, f)
	c.signature("OHDR")
	version := c.u8()
	flags := c.u8()
	if c.err == nil && version != 2 {
		return nil, f.errorf(ErrUnsupported, path, "object header version %d", version)
	}
	if flags&0x20 != 0 {
		c.skip(16) // access, modification, change, birth times
	}
	if flags&0x10 != 0 {
		c.skip(4) // attribute phase change values
	}
	size := c.uvar(1 << (flags & 3))
	if c.err != nil {
		return nil, f.errorf(ErrCorrupt, path, "object header at %d: %v", addr, c.err)
	}
	h := &objectHeader{addr: addr, version: 2, flags: flags}
	err = f.headerChunks(h, chunkRef{addr: addr + uint64(c.off), size: size, prefix: uint64(c.off)}, path)
	return h, err
}

// headerChunks reads the first chunk and then every continuation block,
// appending messages to h. Continuation blocks are visited at most once.
func (f *File) headerChunks(h *objectHeader, first chunkRef, path string) error {
	queue := []chunkRef{first}
	seen := map[uint64]bool{}
	for n := 0; len(queue) > 0; n++ {
		ch := queue[0]
		queue = queue[1:]
		if n >= maxHeaderChunks {
			return f.errorf(ErrCorrupt, path, "object header has more than %d continuation blocks", maxHeaderChunks)
		}
		if seen[ch.addr] {
			return f.errorf(ErrCorrupt, path, "object header continuation blocks form a cycle at %d", ch.addr)
		}
		seen[ch.addr] = true
		var more []chunkRef
		var err error
		if h.version == 1 {
			var buf []byte
			buf, err = f.readAt(ch.addr, ch.size, path, "object header chunk")
			if err != nil {
				return err
			}
			more, err = f.messagesV1(h, buf, path)
			if err != nil {
				return err
			}
		} else {
			var buf []byte
			if n == 0 { // "OHDR" prefix, messages, checksum of both
				if ch.size > uint64(f.size) {
					return f.errorf(ErrCorrupt, path, "object header at %d claims %d bytes of messages, more than the file holds", h.addr, ch.size)
				}
				buf, err = f.readAt(h.addr, ch.prefix+ch.size+4, path, "object header")
				if err != nil {
					return err
				}
				if err := f.checkSum(buf, len(buf)-4, path, "object header", h.addr); err != nil {
					return err
				}
				buf = buf[ch.prefix : len(buf)-4]
			} else { // continuation block: "OCHK", messages, checksum
				buf, err = f.readAt(ch.addr, ch.size, path, "object header continuation block")
				if err != nil {
					return err
				}
				if len(buf) < 8 || string(buf[:4]) != "OCHK" {
					return f.errorf(ErrCorrupt, path, "object header continuation block at %d lacks its OCHK signature", ch.addr)
				}
				if err := f.checkSum(buf, len(buf)-4, path, "object header continuation block", ch.addr); err != nil {
					return err
				}
				buf = buf[4 : len(buf)-4]
			}
			more, err = f.messagesV2(h, buf, path)
		}
		if err != nil {
			return err
		}
		queue = append(queue, more...)
	}
	return nil
}

// messagesV1 splits a version-1 header chunk into messages.
func (f *File) messagesV1(h *objectHeader, buf []byte, path string) ([]chunkRef, error) {
	c := newCursor(buf, f)
	var more []chunkRef
	for c.remaining() >= 8 {
		typ := c.u16()
		size := int(c.u16())
		flags := c.u8()
		c.skip(3)
		data := c.bytes(size)
		if c.err != nil {
			return nil, f.errorf(ErrCorrupt, path, "header message type %#x (%d bytes) overruns its header chunk", typ, size)
		}
		ref, err := f.addMessage(h, typ, flags, data, path)
		if err != nil {
			return nil, err
		}
		if ref != nil {
			more = append(more, *ref)
		}
	}
	return more, nil
}

// messagesV2 splits a version-2 header chunk into messages (gaps shorter
// than a message header are allowed at the end).
func (f *File) messagesV2(h *objectHeader, buf []byte, path string) ([]chunkRef, error) {
	c := newCursor(buf, f)
	var more []chunkRef
	// With header flag bit 2 (attribute creation order tracked) every
	// message header carries a 2-byte creation order.
	msgHead := 4
	if h.flags&0x04 != 0 {
		msgHead = 6
	}
	for c.remaining() >= msgHead {
		typ := uint16(c.u8())
		size := int(c.u16())
		flags := c.u8()
		if msgHead == 6 {
			c.u16()
		}
		data := c.bytes(size)
		if c.err != nil {
			return nil, f.errorf(ErrCorrupt, path, "header message type %#x (%d bytes) overruns its header chunk", typ, size)
		}
		ref, err := f.addMessage(h, typ, flags, data, path)
		if err != nil {
			return nil, err
		}
		if ref != nil {
			more = append(more, *ref)
		}
	}
	return more, nil
}

// addMessage records one message, returning a continuation block to visit if it is one.
func (f *File) addMessage(h *objectHeader, typ uint16, flags uint8, data []byte, path string) (*chunkRef, error) {
	switch typ {
	case msgNil:
		return nil, nil
	case msgContinuation:
		c := newCursor(data, f)
		ref := chunkRef{addr: c.addr(), size: c.length()}
		if c.err != nil {
			return nil, f.errorf(ErrCorrupt, path, "continuation message: %v", c.err)
		}
		return &ref, nil
	}
	h.msgs = append(h.msgs, message{typ: typ, flags: flags, data: data})
	return nil, nil
}
