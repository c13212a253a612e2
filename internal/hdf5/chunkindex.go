package hdf5

// parseLayoutV4Chunked decodes the chunked part of a version-4 layout message.
func (f *File) parseLayoutV4Chunked(c *cursor, l *layout, path string) error {
	l.flags = c.u8()
	dimensionality := int(c.u8())
	encLen := int(c.u8())
	if c.err == nil && (encLen < 1 || encLen > 8 || dimensionality < 1 || dimensionality > 33) {
		return f.errorf(ErrCorrupt, path, "layout: chunk dimension encoding %d bytes, rank %d", encLen, dimensionality)
	}
	for i := 0; i < dimensionality && c.err == nil; i++ {
		v := c.uvar(encLen)
		if i < dimensionality-1 {
			l.chunk = append(l.chunk, v)
		}
	}
	l.index = int(c.u8())
	return f.errorf(ErrUnsupported, path, "layout version 4 chunk index type %d", l.index)
}

// chunksV4 visits the chunks of a layout-4 chunk index.
func (d *Dataset) chunksV4(chunkBytes uint64, visit func(chunkRecord) error) error {
	return d.f.errorf(ErrUnsupported, d.path, "layout version 4 chunk index type %d", d.layout.index)
}
