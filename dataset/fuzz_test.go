package dataset

import (
	"bytes"
	"context"
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

// Per-decoder fuzz targets. Each feeds inputs of one format through the
// real path a file takes (header check, PIL's pixel rule, a 64 MiB decode
// budget, decode, colour conversion, resize) and checks that it never
// panics, that an accepted file gives a target-sized image, and that the
// header check agrees with the decoder. Run one for a minute with, e.g.,
//
//	go test ./dataset -run '^$' -fuzz '^FuzzDecodePNG$' -fuzztime 60s

// fuzzSeeds adds the small test files of format f (testdata/colour,
// testdata/budget) plus extra.
func fuzzSeeds(f *testing.F, want format, extra ...[]byte) {
	var files []string
	for _, dir := range []string{"colour", "budget"} {
		m, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
		files = append(files, m...)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 12000 || sniff(b) != want {
			continue
		}
		f.Add(b)
	}
	for _, b := range extra {
		f.Add(b)
	}
}

// fuzzOne runs one input of format want through decodeData with each
// interpolation (rotating on the input length) and both colour modes.
func fuzzOne(t *testing.T, b []byte, want format) {
	if sniff(b) != want {
		return
	}
	methods := []string{"nearest", "bilinear", "bicubic"}
	budget := &decodeBudget{size: 64 << 20}
	for _, ch := range []int{3, 1} {
		s := loadSpec{channels: ch, w: 5, h: 3, method: methods[len(b)%3], exif: len(b)%2 == 0, budget: budget}
		p, _, err := s.decodeData(context.Background(), b)
		if budget.used != 0 {
			t.Fatalf("budget not returned: %d bytes still reserved", budget.used)
		}
		if err != nil {
			continue
		}
		if p.w != 5 || p.h != 3 || p.c != ch || len(p.pix) != 5*3*ch {
			t.Fatalf("accepted image is %dx%dx%d with %d bytes", p.w, p.h, p.c, len(p.pix))
		}
		if _, err := decodeConfig(b); err != nil {
			t.Fatalf("decoded, but the header check fails: %v", err)
		}
	}
}

func FuzzDecodeJPEG(f *testing.F) {
	fuzzSeeds(f, formatJPEG)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOne(t, b, formatJPEG) })
}

// FuzzDecodePNG also compares the row-streaming decoder with image/png:
// both accept or both refuse, with identical pixels.
func FuzzDecodePNG(f *testing.F) {
	var extra [][]byte
	for _, b := range pngVariants() {
		extra = append(extra, b)
	}
	fuzzSeeds(f, formatPNG, extra...)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzOne(t, b, formatPNG)
		if sniff(b) != formatPNG {
			return
		}
		if cfg, err := decodeConfig(b); err == nil && cfg.Width*cfg.Height <= 1<<20 && !pngInterlaced(b) {
			want, werr := decodeResizeWhole(b, 3, false, 4, 3, "bicubic")
			got, gerr := pngResize(b, 3, 4, 3, "bicubic")
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("image/png error %v, streaming error %v", werr, gerr)
			}
			if werr == nil && !bytes.Equal(want.pix, got.pix) {
				t.Fatalf("streaming pixels %v, image/png %v", got.pix, want.pix)
			}
		}
	})
}

func FuzzDecodeGIF(f *testing.F) {
	fuzzSeeds(f, formatGIF)
	f.Fuzz(func(t *testing.T, b []byte) {
		gifFirstPalette(b)
		fuzzOne(t, b, formatGIF)
	})
}

func FuzzDecodeBMP(f *testing.F) {
	fuzzSeeds(f, formatBMP)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOne(t, b, formatBMP) })
}

func FuzzDecodeTIFF(f *testing.F) {
	fuzzSeeds(f, formatTIFF)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOne(t, b, formatTIFF) })
}

func FuzzDecodeWebP(f *testing.F) {
	fuzzSeeds(f, formatWebP)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOne(t, b, formatWebP) })
}

func FuzzDecodePNM(f *testing.F) {
	fuzzSeeds(f, formatPNM,
		[]byte("P1\n3 2\n0 1 0\n1 0 1\n"), []byte("P2\n2 2\n15\n0 3 9 15\n"),
		[]byte("P3\n2 1\n255\n1 2 3 4 5 6\n"), []byte("P4\n9 2\n\xff\x80\x00\x00"),
		[]byte("P5 2 2 65535\n\x00\x01\x02\x03\x04\x05\x06\x07"), []byte("P6\n# c\n1 2\n100\n\x01\x02\x03\x04\x05\x06"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOne(t, b, formatPNM) })
}
