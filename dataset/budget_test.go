package dataset

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/tiff"
)

// pngChunk appends one PNG chunk with its CRC.
func pngChunk(buf *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	buf.Write(n[:])
	buf.WriteString(typ)
	buf.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	buf.Write(n[:])
}

// pngHeader writes the PNG signature and the IHDR chunk of a w×h image of
// bit depth depth, colour type ct and interlace method interlace (0 none,
// 1 Adam7).
func pngHeader(buf *bytes.Buffer, w, h int, depth, ct, interlace byte) {
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9], ihdr[12] = depth, ct, interlace
	pngChunk(buf, "IHDR", ihdr)
}

// pngBytes writes a PNG by hand: colour type ct, bit depth depth, w×h,
// with rows from row(y) (filter 0) or, with adam7, interlaced (Go's
// encoder writes neither interlaced files nor arbitrary headers).
// pixel(x, y) returns one pixel's bytes.
func pngBytes(w, h int, depth, ct byte, adam7 bool, pixel func(x, y int) []byte) []byte {
	var buf bytes.Buffer
	var interlace byte
	if adam7 {
		interlace = 1
	}
	pngHeader(&buf, w, h, depth, ct, interlace)
	var raw bytes.Buffer
	zw := zlib.NewWriter(&raw)
	passes := [][4]int{{0, 0, 1, 1}}
	if adam7 {
		passes = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	for _, p := range passes {
		if p[0] >= w || p[1] >= h {
			continue
		}
		for y := p[1]; y < h; y += p[3] {
			zw.Write([]byte{0})
			for x := p[0]; x < w; x += p[2] {
				zw.Write(pixel(x, y))
			}
		}
	}
	zw.Close()
	pngChunk(&buf, "IDAT", raw.Bytes())
	pngChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

// gradient is a smooth test image (small files, any size).
func gradient(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, uint8(200 + x%50)})
		}
	}
	return m
}

func opaque(m *image.NRGBA) *image.RGBA {
	o := image.NewRGBA(m.Rect)
	for i := range m.Pix {
		o.Pix[i] = m.Pix[i]
		if i%4 == 3 {
			o.Pix[i] = 255
		}
	}
	return o
}

// measureFiles returns the files of TestDecodeMemoryEstimate: Go-encoded
// layouts written to dir plus the PIL-made ones in testdata/budget.
func measureFiles(t *testing.T, dir string) []string {
	const w, h = 400, 300
	g := gradient(w, h)
	gray := image.NewGray(g.Rect)
	gray16 := image.NewGray16(g.Rect)
	rgba64 := image.NewNRGBA64(g.Rect)
	pal := image.NewPaletted(g.Rect, color.Palette{color.Black, color.White, color.NRGBA{200, 10, 10, 255}})
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			gray.Pix[y*gray.Stride+x] = uint8(x + y)
			gray16.SetGray16(x, y, color.Gray16{uint16(x * y)})
			rgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(x * 100), uint16(y * 100), 1000, 65535})
			pal.Pix[y*pal.Stride+x] = uint8((x / 7) % 3)
		}
	}
	files := map[string][]byte{
		"rgb8.png":    encode(t, "png", opaque(g)),
		"nrgba8.png":  encode(t, "png", g),
		"nrgba16.png": encode(t, "png", rgba64),
		"gray.png":    encode(t, "png", gray),
		"gray16.png":  encode(t, "png", gray16),
		"pal.png":     encode(t, "png", pal),
		"adam7_rgba16.png": pngBytes(w, h, 16, 6, true, func(x, y int) []byte {
			return []byte{uint8(x), 0, uint8(y), 0, 9, 9, 255, 255}
		}),
		"adam7_rgb8.png": pngBytes(w, h, 8, 2, true, func(x, y int) []byte { return []byte{uint8(x), uint8(y), 7} }),
		"rgb420.jpg":     encode(t, "jpg", g),
		"gray.jpg":       encode(t, "jpg", gray),
		"pal.gif":        encode(t, "gif", g),
		"rgb.bmp":        encode(t, "bmp", opaque(g)),
		"rgba.bmp":       encode(t, "bmp", g),
		"gray.bmp":       encode(t, "bmp", gray),
		"rgb.ppm":        encode(t, "ppm", g),
	}
	var tb bytes.Buffer
	if err := tiff.Encode(&tb, g, &tiff.Options{Compression: tiff.Deflate, Predictor: true}); err != nil {
		t.Fatal(err)
	}
	files["deflate.tif"] = tb.Bytes()
	files["plain.tif"] = encode(t, "tif", gray16)
	var pgm, p3 bytes.Buffer
	fmt.Fprintf(&pgm, "P5\n%d %d\n65535\n", w, h)
	fmt.Fprintf(&p3, "P3\n%d %d\n255\n", w/4, h/4)
	for i := 0; i < w*h; i++ {
		pgm.Write([]byte{byte(i >> 8), byte(i)})
		if i < w*h/16 {
			fmt.Fprintf(&p3, "%d %d %d\n", i%256, 3, 200)
		}
	}
	files["gray16.pgm"] = pgm.Bytes()
	files["ascii.ppm"] = p3.Bytes()
	var paths []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		write(t, p, b)
		paths = append(paths, p)
	}
	pil, _ := filepath.Glob(filepath.Join("testdata", "budget", "*"))
	paths = append(paths, pil...)
	paths = append(paths, filepath.Join("testdata", "colour", "exif_6.jpg"), filepath.Join("testdata", "colour", "webp_lossy_odd.webp"))
	return paths
}

// TestDecodeMemoryEstimate checks that the reservation made from a file's
// header covers what decoding it really allocates (runtime.MemStats
// TotalAlloc around decodeFile, which reads, decodes, converts and resizes
// the file), for every format and colour layout and for the fast-nearest,
// resampling, grayscale and EXIF paths.
func TestDecodeMemoryEstimate(t *testing.T) {
	paths := measureFiles(t, t.TempDir())
	specs := []loadSpec{
		{channels: 3, w: 224, h: 224, method: "nearest"},
		{channels: 3, w: 150, h: 100, method: "bilinear"},
		{channels: 1, w: 64, h: 64, method: "bicubic", exif: true},
		{channels: 3, w: 32, h: 48, method: "nearest", exif: true},
	}
	ctx := context.Background()
	worstRatio := 0.0
	for _, p := range paths {
		for _, s := range specs {
			f, head, size, err := readHead(p)
			if err != nil {
				t.Fatal(err)
			}
			info, err := inspect(head, f, size)
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			need, _, err := s.admit(info)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := s.decodeFile(ctx, p); err != nil { // warm up one-time package state
				t.Fatalf("%s: %v", p, err)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			px, _, _, err := s.decodeFile(ctx, p)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			used := int64(after.TotalAlloc - before.TotalAlloc)
			if used > need {
				t.Errorf("%s (%v %dx%d, %s %d ch, exif %v): allocated %d bytes, reserved only %d",
					filepath.Base(p), info.format, info.cfg.Width, info.cfg.Height, s.method, s.channels, s.exif, used, need)
			}
			worstRatio = max(worstRatio, float64(used)/float64(need))
			if len(px.pix) != s.w*s.h*s.channels {
				t.Fatalf("%s: %d pixels", p, len(px.pix))
			}
		}
	}
	t.Logf("%d files × %d option sets; highest allocated/reserved ratio %.2f", len(paths), len(specs), worstRatio)
}

// TestBudgetSemaphore checks first-come-first-served waiting, that the
// reserved total never exceeds the size, and cancellation.
func TestBudgetSemaphore(t *testing.T) {
	b := &decodeBudget{size: 100}
	ctx := context.Background()
	if err := b.acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	got := func(name string) {
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.acquire(ctx, 95); got("big") }()
	waitWaiters(t, b, 1)
	wg.Add(1)
	go func() { defer wg.Done(); b.acquire(ctx, 10); got("small") }() // fits now, but must queue behind "big"
	waitWaiters(t, b, 2)
	mu.Lock()
	if len(order) != 0 {
		t.Fatalf("granted too early: %v", order)
	}
	mu.Unlock()
	// A cancelled waiter leaves the queue without taking anything.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error)
	go func() { errc <- b.acquire(cctx, 5) }()
	waitWaiters(t, b, 3)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire: %v", err)
	}
	b.release(60, false) // "big" fits now; "small" must still wait for it
	waitWaiters(t, b, 1)
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	if fmt.Sprint(order) != "[big]" || b.used != 95 {
		t.Errorf("after releasing 60: granted %v, used %d; want [big], 95", order, b.used)
	}
	mu.Unlock()
	b.release(95, false)
	wg.Wait()
	if fmt.Sprint(order) != "[big small]" || b.used != 10 {
		t.Errorf("grant order %v, used %d; want [big small], 10", order, b.used)
	}
	if err := b.acquire(ctx, 101); err == nil || !strings.Contains(err.Error(), "decode-memory budget") {
		t.Errorf("oversized acquire: %v", err)
	}
	// Many goroutines: the reserved total never exceeds the size.
	b = &decodeBudget{size: 1000}
	var peak, cur int64
	var pm sync.Mutex
	var wg2 sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg2.Add(1)
		go func(n int64) {
			defer wg2.Done()
			if err := b.acquire(ctx, n); err != nil {
				t.Error(err)
				return
			}
			pm.Lock()
			cur += n
			peak = max(peak, cur)
			pm.Unlock()
			time.Sleep(time.Millisecond)
			pm.Lock()
			cur -= n
			pm.Unlock()
			b.release(n, false)
		}(int64(100 + 37*i%400))
	}
	wg2.Wait()
	if peak > 1000 || b.used != 0 {
		t.Errorf("peak %d of 1000, used %d at the end", peak, b.used)
	}
}

func waitWaiters(t *testing.T, b *decodeBudget, n int) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		b.mu.Lock()
		k := b.waiters.Len()
		b.mu.Unlock()
		if k == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never saw %d waiters", n)
}

// TestPixelLimitsAndBudgetRefusals checks, through FromDirectory and
// LoadImage, PIL's decompression-bomb rule (warning above MaxImagePixels,
// refusal above twice that, both from the header alone) and the budget
// rule (an image needing more than the whole budget is skipped and named),
// and that a budget fitting one image at a time still delivers every image
// with several workers.
func TestPixelLimitsAndBudgetRefusals(t *testing.T) {
	dir := t.TempDir()
	px := func(x, y int) []byte { return []byte{1, 2, 3} }
	// Header-only PNGs: the pixel rule needs no pixel data.
	headerOnly := func(w, h int, ct byte) []byte {
		var buf bytes.Buffer
		buf.WriteString("\x89PNG\r\n\x1a\n")
		ihdr := make([]byte, 13)
		binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
		binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
		ihdr[8], ihdr[9] = 8, ct
		pngChunk(&buf, "IHDR", ihdr)
		return buf.Bytes()
	}
	bomb := filepath.Join(dir, "c", "bomb.png") // 2·MaxImagePixels + 1 pixels
	write(t, bomb, headerOnly(2*MaxImagePixels+1, 1, 0))
	// 16-bit RGBA, interlaced (decoded whole by image/png: 8 bytes per
	// pixel, twice); a plain PNG would be streamed in little memory.
	wide16 := filepath.Join(dir, "c", "wide16.png")
	write(t, wide16, pngBytes(1500, 1000, 16, 6, true, func(x, y int) []byte { return make([]byte, 8) }))
	for i := 0; i < 6; i++ {
		write(t, filepath.Join(dir, "c", fmt.Sprintf("ok%d.png", i)), pngBytes(300, 200, 8, 2, false, px))
	}
	// 2·1500·1000·8 = 24 MB for wide16; the budget fits one ok file at a
	// time, not two, and never wide16.
	spec := loadSpec{channels: 3, w: 16, h: 16, method: "bilinear"}
	okInfo, _, err := spec.inspectFile(filepath.Join(dir, "c", "ok0.png"))
	if err != nil {
		t.Fatal(err)
	}
	budget := spec.memoryNeed(okInfo) * 3 / 2
	var log bytes.Buffer
	d, err := FromDirectory(dir, Options{TargetSize: [2]int{16, 16}, Interpolation: "bilinear", Workers: 4,
		BatchSize: 3, DecodeMemoryBudget: budget, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{}
	for _, s := range d.Skipped() {
		skipped[s.Path] = s.Reason
	}
	if r := skipped[bomb]; !strings.Contains(r, "decompression bomb") {
		t.Errorf("bomb: %q", r)
	}
	if r := skipped[wide16]; !strings.Contains(r, "decode-memory budget") || !strings.Contains(r, "1500x1000") {
		t.Errorf("wide16: %q", r)
	}
	if !strings.Contains(log.String(), "Warning: skipping "+bomb) || !strings.Contains(log.String(), "Warning: skipping "+wide16) {
		t.Errorf("refusals not named:\n%s", log.String())
	}
	n := 0
	for _, b := range collect(t, d, 0) {
		n += len(b.Labels)
	}
	if n != 6 || len(d.Skipped()) != 2 {
		t.Errorf("%d images delivered, want 6; skipped %v", n, d.Skipped())
	}
	if b := budgetFor(budget); b.used != 0 || b.waiters.Len() != 0 {
		t.Errorf("budget left with %d bytes used, %d waiters", b.used, b.waiters.Len())
	}
	if _, err := LoadImage(wide16, Options{TargetSize: [2]int{16, 16}, DecodeMemoryBudget: budget}); err == nil {
		t.Error("LoadImage: over-budget image accepted")
	}

	// Just above MaxImagePixels (8-bit gray, within the default budget):
	// kept with a warning naming it; it has no pixel data, so it fails at
	// decode, named then.
	dir2 := t.TempDir()
	large := filepath.Join(dir2, "c", "large.png")
	write(t, large, headerOnly(MaxImagePixels+1, 1, 0))
	write(t, filepath.Join(dir2, "c", "ok.png"), pngBytes(30, 20, 8, 2, false, px))
	log.Reset()
	d, err = FromDirectory(dir2, Options{TargetSize: [2]int{16, 16}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || !strings.Contains(log.String(), "Warning: "+large+": 89478486x1 image has 89478486 pixels, more than PIL's limit") {
		t.Errorf("large image: %d files kept, log:\n%s", d.Len(), log.String())
	}
	collect(t, d, 0)
	if r := d.Skipped(); len(r) != 1 || r[0].Path != large {
		t.Errorf("skipped %v", r)
	}
	var warn bytes.Buffer
	if _, err := LoadImage(large, Options{TargetSize: [2]int{16, 16}, Log: &warn}); err == nil || !strings.Contains(warn.String(), large) {
		t.Errorf("LoadImage(large): err %v, warning %q", err, warn.String())
	}
	if _, err := LoadImage(wide16, Options{TargetSize: [2]int{16, 16}, DecodeMemoryBudget: -1}); err != nil {
		t.Errorf("no budget: %v", err)
	}
}

// TestDecodeMemoryBudgetDefault checks the documented default.
func TestDecodeMemoryBudgetDefault(t *testing.T) {
	if budgetFor(0) != budgetFor(DefaultDecodeMemoryBudget) || budgetFor(0).size != 1<<30 || budgetFor(-1) != nil {
		t.Error("default budget is not the shared 1 GiB pool")
	}
	if os.Getpagesize() <= 0 { // keep os imported for write helpers on all platforms
		t.Skip()
	}
}
