// Command genbigpng writes huge, highly compressible 16-bit RGBA PNGs (the
// decompression-bomb case of issue 15: about 1 MB on disk, 11000×11000×8
// bytes = 968 MB decoded) by streaming rows through zlib, so the generator
// itself needs little memory. Used to measure the decode-memory budget:
//
//	go run ./dataset/testdata/genbigpng -n 2 -out /tmp/big/train/ants
//
// With -interlace the files are Adam7 (image/png decodes them whole, at
// 16 bytes a pixel counting the passes), which exercises the budget rather
// than the row-streaming PNG path.
package main

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"os"
	"path/filepath"
)

// chunkWriter turns a byte stream into PNG IDAT chunks of up to 1 MiB.
type chunkWriter struct {
	w   io.Writer
	buf []byte
}

func writeChunk(w io.Writer, typ string, data []byte) error {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], crc.Sum32())
	for _, p := range [][]byte{n[:], []byte(typ), data, c[:]} {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	for len(c.buf) >= 1<<20 {
		if err := writeChunk(c.w, "IDAT", c.buf[:1<<20]); err != nil {
			return 0, err
		}
		c.buf = c.buf[1<<20:]
	}
	return len(p), nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	return writeChunk(c.w, "IDAT", c.buf)
}

func writePNG(path string, w, h int, shade uint16, adam7 bool) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	bw.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16-bit RGBA
	if adam7 {
		ihdr[12] = 1
	}
	if err := writeChunk(bw, "IHDR", ihdr); err != nil {
		return err
	}
	cw := &chunkWriter{w: bw}
	zw, _ := zlib.NewWriterLevel(cw, zlib.BestCompression)
	// Adam7 passes: (x0, y0, dx, dy); a plain file is one pass.
	passes := [][4]int{{0, 0, 1, 1}}
	if adam7 {
		passes = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	row := make([]byte, 1+8*w)
	for _, p := range passes {
		pw := (w - p[0] + p[2] - 1) / p[2]
		for y := p[1]; y < h; y += p[3] {
			// A flat colour with a band every 1000 rows: compresses ~1000:1.
			v := shade
			if y/1000%2 == 1 {
				v = 65535 - shade
			}
			for x := 0; x < pw; x++ {
				q := row[1+8*x:]
				binary.BigEndian.PutUint16(q[0:], v)
				binary.BigEndian.PutUint16(q[2:], v/2)
				binary.BigEndian.PutUint16(q[4:], 65535-v)
				binary.BigEndian.PutUint16(q[6:], 65535)
			}
			if _, err := zw.Write(row[:1+8*pw]); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := cw.flush(); err != nil {
		return err
	}
	if err := writeChunk(bw, "IEND", nil); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func main() {
	n := flag.Int("n", 4, "number of files")
	size := flag.Int("size", 11000, "width and height in pixels")
	out := flag.String("out", "", "output folder (created)")
	adam7 := flag.Bool("interlace", false, "write Adam7-interlaced files (decoded whole by image/png)")
	flag.Parse()
	if *out == "" {
		log.Fatal("-out is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < *n; i++ {
		p := filepath.Join(*out, fmt.Sprintf("big%02d.png", i))
		if err := writePNG(p, *size, *size, uint16(9000*(i+1)), *adam7); err != nil {
			log.Fatal(err)
		}
		st, _ := os.Stat(p)
		fmt.Printf("%s: %dx%d 16-bit RGBA (interlaced %v), %d bytes\n", p, *size, *size, *adam7, st.Size())
	}
}
