package dataset

import (
	"bytes"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Real photos from ../shared/datasets; the expected numbers come from each
// dataset's README.md.

func TestHymenopteraCounts(t *testing.T) {
	root := filepath.Join(sharedDatasets(t), "hymenoptera")
	var log bytes.Buffer
	train, err := FromDirectory(filepath.Join(root, "train"), Options{TargetSize: [2]int{64, 64}, BatchSize: 50, Log: &log, Cache: true})
	if err != nil {
		t.Fatal(err)
	}
	val, err := FromDirectory(filepath.Join(root, "validation"), Options{TargetSize: [2]int{64, 64}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got := log.String(); got != "Found 245 images belonging to 2 classes.\nFound 153 images belonging to 2 classes.\n" {
		t.Errorf("log:\n%s", got)
	}
	count := func(d *Directory) [2]int {
		var c [2]int
		for _, l := range d.Labels() {
			c[l]++
		}
		return c
	}
	if c := count(train); c != [2]int{124, 121} {
		t.Errorf("train per class %v, want [124 121]", c)
	}
	if c := count(val); c != [2]int{70, 83} {
		t.Errorf("validation per class %v, want [70 83]", c)
	}
	if names := train.ClassNames(); len(names) != 2 || names[0] != "ants" || names[1] != "bees" {
		t.Errorf("classes %v", names)
	}
	files := strings.Join(train.Files(), "\n")
	for _, want := range []string{"imageNotFound.gif", "ant photos.jpg", "formica.jpeg", "Nepenthes_rafflesiana_ant.jpg", "662541407_ff8db781e7.jpg"} {
		if !strings.Contains(files, "/ants/"+want) {
			t.Errorf("train listing lacks ants/%s", want)
		}
	}
	// Decode every training image (progressive, 4:4:0, GIF, tiny, extreme
	// aspect ratio) through the pipeline: nothing may be skipped.
	n := 0
	for _, b := range collect(t, train, 0) {
		n += len(b.Labels)
		if b.X.Dim(1) != 64 || b.X.Dim(2) != 64 || b.X.Dim(3) != 3 {
			t.Fatalf("batch shape %v", b.X.Shape)
		}
	}
	if n != 245 || len(train.Skipped()) != 0 {
		t.Fatalf("delivered %d of 245, skipped %v", n, train.Skipped())
	}
	// The largest and a progressive validation image decode at full size.
	for name, size := range map[string][2]int{
		"ants/ants-devouring-remains-of-large-dead-insect-on-red-tile-in-Stellenbosch-South-Africa-closeup-1-DHD.jpg": {2592, 1944},
		"bees/6a00d8341c630a53ef00e553d0beb18834-800wi.jpg":                                                           {0, 0},
	} {
		b, err := os.ReadFile(filepath.Join(root, "validation", name))
		if err != nil {
			t.Fatal(err)
		}
		p, err := decodeToPixels(b, 3, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if size != [2]int{} && (p.w != size[0] || p.h != size[1]) {
			t.Errorf("%s: %dx%d, want %v", name, p.w, p.h, size)
		}
	}
}

func TestImagenetteCountsAndGrayscale(t *testing.T) {
	root := filepath.Join(sharedDatasets(t), "imagenette_224_subset")
	var log bytes.Buffer
	for split, per := range map[string]int{"train": 200, "validation": 80} {
		d, err := FromDirectory(filepath.Join(root, split), Options{TargetSize: [2]int{224, 224}, Log: &log})
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != 10*per || d.NumClasses() != 10 || len(d.Skipped()) != 0 {
			t.Fatalf("%s: %d images, %d classes, skipped %v", split, d.Len(), d.NumClasses(), d.Skipped())
		}
		counts := map[int]int{}
		for _, l := range d.Labels() {
			counts[l]++
		}
		for c := 0; c < 10; c++ {
			if counts[c] != per {
				t.Errorf("%s class %s: %d images, want %d", split, d.ClassNames()[c], counts[c], per)
			}
		}
	}
	if !strings.Contains(log.String(), "Found 2000 images belonging to 10 classes.") || !strings.Contains(log.String(), "Found 800 images belonging to 10 classes.") {
		t.Errorf("log %q", log.String())
	}
	// Every file is .JPEG (upper case); exactly the 48 listed in
	// GRAYSCALE.txt are single-channel.
	listB, err := os.ReadFile(filepath.Join(root, "GRAYSCALE.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(listB))
	var gray []string
	err = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".JPEG") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg, err := jpeg.DecodeConfig(f)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if cfg.ColorModel != nil && cfg.ColorModel == jpegGrayModel() {
			r, _ := filepath.Rel(root, p)
			gray = append(gray, filepath.ToSlash(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(gray)
	sort.Strings(want)
	if strings.Join(gray, "\n") != strings.Join(want, "\n") || len(want) != 48 {
		t.Fatalf("grayscale JPEGs found %d, listed %d", len(gray), len(want))
	}
	// The grayscale ones become 3 equal channels in rgb mode and stay
	// single-channel in grayscale mode.
	for _, g := range want[:6] {
		b, err := os.ReadFile(filepath.Join(root, g))
		if err != nil {
			t.Fatal(err)
		}
		p, err := decodeToPixels(b, 3, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(p.pix); i += 3 {
			if p.pix[i] != p.pix[i+1] || p.pix[i] != p.pix[i+2] {
				t.Fatalf("%s: pixel %d not gray: %v", g, i/3, p.pix[i:i+3])
			}
		}
		q, _ := decodeToPixels(b, 1, false)
		for i := range q.pix {
			if q.pix[i] != p.pix[3*i] {
				t.Fatalf("%s: grayscale mode differs from the replicated channel", g)
			}
		}
	}
}

func jpegGrayModel() any {
	var buf bytes.Buffer
	jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)), nil)
	cfg, _ := jpeg.DecodeConfig(&buf)
	return cfg.ColorModel
}

func TestOddImages(t *testing.T) {
	src := filepath.Join(sharedDatasets(t), "odd_images")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := 0
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, "odd"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, "odd", e.Name())); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 9 {
		t.Fatalf("odd_images has %d files, README lists 9", n)
	}
	d, err := FromDirectory(dir, Options{TargetSize: [2]int{32, 32}, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, b := range collect(t, d, 0) {
		got += len(b.Labels)
	}
	if got != 9 || len(d.Skipped()) != 0 {
		t.Fatalf("delivered %d of 9, skipped %v", got, d.Skipped())
	}
	b, err := os.ReadFile(filepath.Join(src, "webp_with_png_extension__Cat1035.png"))
	if err != nil {
		t.Fatal(err)
	}
	if sniff(b) != formatWebP {
		t.Fatalf("webp named .png sniffed as %v", sniff(b))
	}
	p, err := decodeToPixels(b, 3, false)
	if err != nil || p.w != 800 || p.h != 450 {
		t.Fatalf("webp named .png: %dx%d, %v", p.w, p.h, err)
	}
}
