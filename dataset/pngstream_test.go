package dataset

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"math/rand/v2"
	"testing"
)

// pngFiltered writes a PNG with the given raw (unfiltered) rows, each row
// filtered with filters[y % len(filters)] (0 None … 4 Paeth, computed by
// the PNG specification's predictors), and extra chunks before IDAT.
func pngFiltered(w, h int, depth, ct byte, raw [][]byte, filters []byte, extra ...[2]string) []byte {
	var buf bytes.Buffer
	pngHeader(&buf, w, h, depth, ct, 0)
	for _, c := range extra {
		pngChunk(&buf, c[0], []byte(c[1]))
	}
	bpp := max(1, pngBits(depth, ct)/8)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	prev := make([]byte, len(raw[0]))
	for y, row := range raw {
		f := filters[y%len(filters)]
		out := make([]byte, len(row))
		for i, v := range row {
			var a, b, c int
			if i >= bpp {
				a, c = int(row[i-bpp]), int(prev[i-bpp])
			}
			b = int(prev[i])
			var pred int
			switch f {
			case 1:
				pred = a
			case 2:
				pred = b
			case 3:
				pred = (a + b) / 2
			case 4:
				p := a + b - c
				pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
				switch {
				case pa <= pb && pa <= pc:
					pred = a
				case pb <= pc:
					pred = b
				default:
					pred = c
				}
			}
			out[i] = v - byte(pred)
		}
		zw.Write([]byte{f})
		zw.Write(out)
		prev = row
	}
	zw.Close()
	// Split the pixel data over three IDAT chunks.
	d := z.Bytes()
	for i := 0; i < 3; i++ {
		pngChunk(&buf, "IDAT", d[len(d)*i/3:len(d)*(i+1)/3])
	}
	pngChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

// pngVariants returns PNGs of every bit depth and colour type image/png
// accepts, with and without tRNS, all five filters, odd sizes and
// out-of-range palette indices.
func pngVariants() map[string][]byte {
	r := rand.New(rand.NewPCG(11, 12))
	out := map[string][]byte{}
	const w, h = 23, 17
	for _, ct := range []byte{0, 2, 3, 4, 6} {
		for _, depth := range []byte{1, 2, 4, 8, 16} {
			bits := pngBits(depth, ct)
			if bits == 0 {
				continue
			}
			rowLen := (bits*w + 7) / 8
			raw := make([][]byte, h)
			for y := range raw {
				raw[y] = make([]byte, rowLen)
				for i := range raw[y] {
					raw[y][i] = byte(r.IntN(256))
					if y%3 == 0 { // some repeated samples so tRNS matches
						raw[y][i] = byte(i % 4)
					}
				}
			}
			var extra [][2]string
			if ct == 3 {
				n := min(1<<depth, 200) - 3 // some indices beyond the palette
				if depth == 1 {
					n = 1
				}
				pal := make([]byte, 3*n)
				for i := range pal {
					pal[i] = byte(r.IntN(256))
				}
				extra = append(extra, [2]string{"PLTE", string(pal)})
			}
			name := fmt.Sprintf("ct%d_d%d", ct, depth)
			out[name] = pngFiltered(w, h, depth, ct, raw, []byte{0, 1, 2, 3, 4}, extra...)
			var trns string
			switch ct {
			case 0:
				trns = string([]byte{0, raw[0][0]})
				if depth == 16 {
					trns = string(raw[0][:2])
				} else if depth < 8 {
					trns = string([]byte{0, raw[0][0] >> (8 - depth)})
				}
			case 2:
				if depth == 8 {
					trns = string([]byte{0, raw[0][0], 0, raw[0][1], 0, raw[0][2]})
				} else {
					trns = string(raw[0][:6])
				}
			case 3:
				trns = string([]byte{0, 128, 255, 7, 9})[:min(5, 1<<depth)]
			}
			if trns != "" {
				out[name+"_trns"] = pngFiltered(w, h, depth, ct, raw, []byte{4, 3, 2, 1, 0}, append(extra, [2]string{"tRNS", trns})...)
			}
		}
	}
	return out
}

// TestPNGStreamMatchesImagePNG checks the row-streaming PNG path against
// the whole-image path (image/png, then the same conversion and resize),
// exactly, for every PNG layout, three interpolations, both colour modes,
// down- and up-scaling, and the same size.
func TestPNGStreamMatchesImagePNG(t *testing.T) {
	variants := pngVariants()
	if len(variants) < 20 {
		t.Fatalf("only %d variants", len(variants))
	}
	for name, b := range variants {
		if _, err := decodeImage(b); err != nil {
			t.Fatalf("%s: image/png refuses the test file: %v", name, err)
		}
		for _, method := range []string{"nearest", "bilinear", "bicubic"} {
			for _, ch := range []int{3, 1} {
				for _, size := range [][2]int{{7, 5}, {40, 31}, {23, 17}, {23, 6}} {
					want, err := decodeResizeWhole(b, ch, false, size[0], size[1], method)
					if err != nil {
						t.Fatal(err)
					}
					got, err := pngResize(b, ch, size[0], size[1], method)
					if err != nil {
						t.Fatalf("%s %s %d %v: %v", name, method, ch, size, err)
					}
					if got.w != want.w || got.h != want.h || got.c != want.c || !bytes.Equal(got.pix, want.pix) {
						t.Fatalf("%s %s ch %d size %v: streaming differs from image/png", name, method, ch, size)
					}
				}
			}
		}
	}
}

// TestPNGStreamRefusesLikeImagePNG checks damaged files: every truncation
// and a set of byte flips of a few variants are refused by the streaming
// path exactly when image/png refuses them, and decode equally otherwise.
func TestPNGStreamRefusesLikeImagePNG(t *testing.T) {
	variants := pngVariants()
	r := rand.New(rand.NewPCG(3, 4))
	checked := 0
	for _, name := range []string{"ct2_d8", "ct3_d4_trns", "ct0_d16_trns", "ct6_d16"} {
		b := variants[name]
		var inputs [][]byte
		for n := 0; n < len(b); n += 3 {
			inputs = append(inputs, b[:n])
		}
		for i := 0; i < 300; i++ {
			m := bytes.Clone(b)
			m[8+r.IntN(len(m)-8)] ^= byte(1 << r.IntN(8))
			inputs = append(inputs, m)
		}
		for _, in := range inputs {
			compareStreamWhole(t, name, in)
			checked++
		}
	}
	// Reassembled files: pixel data after the zlib stream, an extra
	// trailing IDAT, a chunk between IDATs, a missing IEND.
	b := variants["ct2_d8"]
	s := &pngStream{b: b, pos: 8}
	var idat []byte
	for {
		typ, data, err := s.chunk()
		if err != nil {
			t.Fatal(err)
		}
		if typ == "IDAT" {
			idat = append(idat, data...)
		}
		if typ == "IEND" {
			break
		}
	}
	ihdr := b[8 : 8+25]
	build := func(chunks ...[2]string) []byte {
		var buf bytes.Buffer
		buf.WriteString("\x89PNG\r\n\x1a\n")
		buf.Write(ihdr)
		for _, c := range chunks {
			pngChunk(&buf, c[0], []byte(c[1]))
		}
		return buf.Bytes()
	}
	half := len(idat) / 2
	for i, in := range [][]byte{
		build([2]string{"IDAT", string(idat)}, [2]string{"IEND", ""}),
		build([2]string{"IDAT", string(idat) + "junk"}, [2]string{"IEND", ""}),
		build([2]string{"IDAT", string(idat)}, [2]string{"IDAT", "junk"}, [2]string{"IEND", ""}),
		build([2]string{"IDAT", string(idat[:half])}, [2]string{"tEXt", "a\x00b"}, [2]string{"IDAT", string(idat[half:])}, [2]string{"IEND", ""}),
		build([2]string{"IDAT", string(idat)}),
		build([2]string{"IDAT", string(idat)}, [2]string{"IEND", "x"}),
		build([2]string{"tRNS", "\x00\x01\x00\x02\x00\x03"}, [2]string{"IDAT", string(idat)}, [2]string{"IEND", ""}),
		build([2]string{"IDAT", string(idat[:half])}, [2]string{"IEND", ""}),
	} {
		compareStreamWhole(t, fmt.Sprintf("reassembled %d", i), in)
		checked++
	}
	t.Logf("%d damaged files agree", checked)
}

// compareStreamWhole fails when the streaming and whole-image PNG paths
// disagree on b (one accepts, the other refuses, or different pixels).
func compareStreamWhole(t *testing.T, name string, b []byte) {
	t.Helper()
	want, werr := decodeResizeWhole(b, 3, false, 9, 4, "bilinear")
	got, gerr := pngResize(b, 3, 9, 4, "bilinear")
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%s (%d bytes): image/png error %v, streaming error %v", name, len(b), werr, gerr)
	}
	if werr == nil && !bytes.Equal(got.pix, want.pix) {
		t.Fatalf("%s (%d bytes): pixels differ", name, len(b))
	}
}
