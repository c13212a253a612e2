package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// caffeLike is a Preprocess hook that is not symmetric in the channels
// (BGR swap and per-channel offsets), so a channel mix-up shows.
func caffeLike(img []float32, h, w, c int) {
	if c != 3 {
		for i := range img {
			img[i] -= 100
		}
		return
	}
	for i := 0; i+2 < len(img); i += 3 {
		r, g, b := img[i], img[i+1], img[i+2]
		img[i], img[i+1], img[i+2] = b-103.939, g-116.779, r-123.68
	}
}

// TestLoadImageEqualsPipeline checks that LoadImage gives exactly the
// pipeline's batch values for the same file and options, over every
// format in testdata/colour, the three interpolations, both colour modes,
// EXIF on and off, with a Preprocess hook and an Augment holding only
// Rescale.
func TestLoadImageEqualsPipeline(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "colour", "*.*"))
	var images []string
	for _, f := range files {
		switch filepath.Ext(f) {
		case ".rgb", ".l":
			continue
		}
		images = append(images, f)
	}
	if len(images) < 20 {
		t.Fatalf("only %d test images", len(images))
	}
	type variant struct {
		name string
		opt  Options
	}
	variants := []variant{
		{"nearest", Options{TargetSize: [2]int{7, 9}}},
		{"bilinear-gray", Options{TargetSize: [2]int{5, 6}, Interpolation: "bilinear", ColorMode: "grayscale"}},
		{"bicubic-exif-pre", Options{TargetSize: [2]int{11, 8}, Interpolation: "bicubic", ExifOrientation: true, Preprocess: caffeLike}},
		{"nearest-exif-rescale", Options{TargetSize: [2]int{6, 6}, ExifOrientation: true, Augment: &Augment{Rescale: 1.0 / 255}, Preprocess: caffeLike}},
	}
	for _, v := range variants {
		root := t.TempDir()
		cls := filepath.Join(root, "c")
		if err := os.MkdirAll(cls, 0o755); err != nil {
			t.Fatal(err)
		}
		var names []string
		for i, f := range images {
			abs, _ := filepath.Abs(f)
			// Keep the listing order equal to images' order.
			name := filepath.Join(cls, strings.Repeat("0", 3-len(itoa(i)))+itoa(i)+"_"+filepath.Base(f))
			if err := os.Symlink(abs, name); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		opt := v.opt
		opt.Log = &bytes.Buffer{}
		opt.BatchSize = 5
		opt.ClassMode = "none"
		d, err := FromDirectory(root, opt)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if !reflect.DeepEqual(d.Files(), names) {
			t.Fatalf("%s: listing %v", v.name, d.Files())
		}
		h, w, c := d.ImageShape()[0], d.ImageShape()[1], d.ImageShape()[2]
		compared := 0
		for _, b := range collect(t, d, 0) {
			for k, path := range b.Files {
				x, err := LoadImage(path, opt)
				if err != nil {
					t.Fatalf("%s: LoadImage(%s): %v", v.name, path, err)
				}
				if got := x.Shape; !got.Equal(tensor.Shape{1, h, w, c}) {
					t.Fatalf("%s: shape %v", v.name, got)
				}
				want := b.X.Data[k*h*w*c : (k+1)*h*w*c]
				for i := range want {
					if x.Data[i] != want[i] {
						t.Fatalf("%s: %s value %d: LoadImage %v, pipeline %v", v.name, path, i, x.Data[i], want[i])
					}
				}
				compared++
			}
		}
		if compared != len(images) {
			t.Errorf("%s: compared %d of %d files", v.name, compared, len(images))
		}
	}
}

// TestLoadImageErrorsNameTheFile checks bad input: missing, non-image,
// truncated and over-budget files give errors naming the file.
func TestLoadImageErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.png")
	write(t, junk, []byte("not an image"))
	png := encode(t, "png", solid(40, 30, classColour[0]))
	trunc := filepath.Join(dir, "trunc.png")
	write(t, trunc, png[:len(png)-30])
	big := filepath.Join(dir, "big.png")
	write(t, big, png)
	cases := []struct {
		path string
		opt  Options
		want string
	}{
		{filepath.Join(dir, "missing.jpg"), Options{}, "no such file"},
		{junk, Options{}, "not a recognised image format"},
		{trunc, Options{}, "PNG"},
		{big, Options{DecodeMemoryBudget: 1000}, "decode-memory budget"},
		{dir, Options{}, "not a regular file"},
	}
	for _, c := range cases {
		c.opt.TargetSize = [2]int{4, 4}
		_, err := LoadImage(c.path, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadImage(%s): %v, want an error naming the file with %q", c.path, err, c.want)
		}
	}
}

// TestFromFiles checks the explicit-list dataset: order kept, bad files
// skipped and named, labels −1, and refused label options.
func TestFromFiles(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, name := range []string{"z.png", "bad.jpg", "a.png", "m.gif"} {
		p := filepath.Join(dir, name)
		switch name {
		case "bad.jpg":
			write(t, p, []byte("junk"))
		default:
			write(t, p, encode(t, strings.TrimPrefix(filepath.Ext(name), "."), solid(6, 5, classColour[i%3])))
		}
		paths = append(paths, p)
	}
	var log bytes.Buffer
	d, err := FromFiles(paths, Options{TargetSize: [2]int{5, 6}, BatchSize: 2, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{paths[0], paths[2], paths[3]}; !reflect.DeepEqual(d.Files(), want) {
		t.Errorf("files %v, want %v", d.Files(), want)
	}
	if !strings.Contains(log.String(), "Found 3 images.") || !strings.Contains(log.String(), paths[1]) {
		t.Errorf("log:\n%s", log.String())
	}
	n := 0
	for _, b := range collect(t, d, 0) {
		if b.Y != nil {
			t.Error("Y is not nil")
		}
		for k, l := range b.Labels {
			if l != -1 {
				t.Errorf("label %d", l)
			}
			x, err := LoadImage(b.Files[k], Options{TargetSize: [2]int{5, 6}})
			if err != nil {
				t.Fatal(err)
			}
			per := 5 * 6 * 3
			if !reflect.DeepEqual(x.Data, b.X.Data[k*per:(k+1)*per]) {
				t.Errorf("%s differs from LoadImage", b.Files[k])
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d images delivered", n)
	}
	if _, err := FromFiles(paths, Options{ClassMode: "categorical"}); err == nil {
		t.Error("ClassMode categorical accepted")
	}
	if _, err := FromFiles(paths[1:2], Options{Log: &log}); err == nil {
		t.Error("no usable file: no error")
	}
}
