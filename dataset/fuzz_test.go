package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Parsers must never panic on malformed input. Run longer with, e.g.,
//
//	go test ./dataset -run '^$' -fuzz FuzzDecode -fuzztime 60s

func addColourSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "colour", "*"))
	for _, p := range files {
		switch filepath.Ext(p) {
		case ".rgb", ".l":
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 8000 {
			continue
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("P3\n2 1\n255\n1 2 3 4 5 6\n"))
	f.Add([]byte("P1\n3 2\n0 1 0\n1 0 1\n"))
	f.Add([]byte("P5 2 2 65535\n\x00\x01\x02\x03\x04\x05\x06\x07"))
	f.Add([]byte{})
}

func FuzzDecode(f *testing.F) {
	addColourSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		gifFirstPalette(b)
		cfg, cerr := decodeConfig(b)
		p, err := decodeToPixels(b, 3, true)
		if err != nil {
			return
		}
		if cerr != nil {
			t.Fatalf("full decode succeeded but header check failed: %v", cerr)
		}
		if len(p.pix) != p.w*p.h*3 {
			t.Fatalf("%dx%d image with %d bytes", p.w, p.h, len(p.pix))
		}
		if cfg.Width*cfg.Height != p.w*p.h {
			t.Fatalf("header says %dx%d, image is %dx%d", cfg.Width, cfg.Height, p.w, p.h)
		}
		if p.w*p.h <= 4096 {
			resizeImage(p, 5, 3, "bicubic")
		}
	})
}

func FuzzIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, make([]uint8, 8)))
	f.Add(idxBytes([]int{3}, []uint8{1, 2, 3}))
	f.Add([]byte{0, 0, 8, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		dims, data, err := parseIDX(b, 0x08)
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if n != len(data) {
			t.Fatalf("dims %v but %d bytes", dims, len(data))
		}
	})
}

func FuzzExifOrientation(f *testing.F) {
	for o := 1; o <= 8; o++ {
		if b, err := os.ReadFile(filepath.Join("testdata", "colour", "exif_"+itoa(o)+".jpg")); err == nil {
			f.Add(b[:min(len(b), 400)])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := exifOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		_ = bytes.Clone(b)
	})
}
