package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// solid returns a w×h image filled with one colour.
func solid(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

func encode(t *testing.T, format string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	case "gif": // exact palette: the image's first colour plus black
		b := img.Bounds()
		pm := image.NewPaletted(b, color.Palette{color.NRGBAModel.Convert(img.At(0, 0)), color.Black})
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				pm.Set(x, y, img.At(x, y))
			}
		}
		err = gif.Encode(&buf, pm, nil)
	case "bmp":
		err = bmp.Encode(&buf, img)
	case "tif":
		err = tiff.Encode(&buf, img, nil)
	case "ppm":
		b := img.Bounds()
		buf.WriteString("P6\n# comment\n" + itoa(b.Dx()) + " " + itoa(b.Dy()) + "\n255\n")
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				r, g, bb, _ := img.At(x, y).RGBA()
				buf.Write([]byte{uint8(r >> 8), uint8(g >> 8), uint8(bb >> 8)})
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func itoa(v int) string { return strconv.Itoa(v) }

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// classColour gives each class a distinct colour so a label can be
// checked from the pixels.
var classColour = []color.NRGBA{{200, 30, 30, 255}, {30, 200, 30, 255}, {30, 30, 200, 255}}

// makeTree writes a three-class folder with every format, nested folders,
// upper-case extensions, ignored files and corrupt files of each kind.
func makeTree(t *testing.T) (dir string, corrupt []string) {
	dir = t.TempDir()
	formats := []string{"png", "jpg", "gif", "bmp", "tif", "ppm"}
	for ci, cls := range []string{"a_cls", "b_cls", "c_cls"} {
		for k, f := range formats {
			img := solid(12+k, 9+ci, classColour[ci])
			name := filepath.Join(dir, cls, "img"+itoa(k)+"."+f)
			if k%2 == 1 {
				name = filepath.Join(dir, cls, "IMG"+itoa(k)+"."+strings.ToUpper(f))
			}
			write(t, name, encode(t, f, img))
		}
		write(t, filepath.Join(dir, cls, "sub", "deep", "x.png"), encode(t, "png", solid(5, 5, classColour[ci])))
		write(t, filepath.Join(dir, cls, "notes.txt"), []byte("not an image"))
	}
	noisy := solid(64, 64, classColour[0])
	for i := range noisy.Pix {
		if i%4 != 3 {
			noisy.Pix[i] = uint8(i * 7919 % 251)
		}
	}
	good := encode(t, "jpg", noisy)
	goodPNG := encode(t, "png", solid(20, 20, classColour[0]))
	bad := map[string][]byte{
		"empty.png":        {},
		"text.jpg":         []byte("hello, this is text pretending to be a JPEG"),
		"badheader.png":    append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xAB}, 40)...),
		"truncated.jpg":    good[:len(good)/2],
		"truncatedpng.png": goodPNG[:len(goodPNG)-20],
		"zerosize.ppm":     []byte("P6\n0 0\n255\n"),
	}
	for name, b := range bad {
		p := filepath.Join(dir, "a_cls", name)
		write(t, p, b)
		corrupt = append(corrupt, p)
	}
	return dir, corrupt
}

func TestFromDirectoryGeneratedTree(t *testing.T) {
	dir, corrupt := makeTree(t)
	var log bytes.Buffer
	d, err := FromDirectory(dir, Options{TargetSize: [2]int{8, 10}, BatchSize: 4, Log: &log, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.ClassNames(); !reflect.DeepEqual(got, []string{"a_cls", "b_cls", "c_cls"}) {
		t.Fatalf("classes %v", got)
	}
	// Header-level failures are skipped at build: empty, text, bad header,
	// zero-size. Truncated files have good headers and fail later.
	buildBad := 4
	if d.Len() != 3*7+2 {
		t.Fatalf("Len %d, want %d (7 per class + 2 truncated with good headers); skipped %v", d.Len(), 3*7+2, d.Skipped())
	}
	if len(d.Skipped()) != buildBad {
		t.Fatalf("skipped %v", d.Skipped())
	}
	out := log.String()
	if !strings.Contains(out, "Found 23 images belonging to 3 classes.\n") {
		t.Errorf("missing Found line in %q", out)
	}
	for _, s := range d.Skipped() {
		if !strings.Contains(out, "Warning: skipping "+s.Path+": ") {
			t.Errorf("no warning for %s", s.Path)
		}
	}
	// Keras order: a_cls files sorted (upper-case first, byte order), then
	// the nested folder.
	files := d.Files()
	rel := func(p string) string { r, _ := filepath.Rel(dir, p); return filepath.ToSlash(r) }
	wantFirst := []string{"a_cls/IMG1.JPG", "a_cls/IMG3.BMP", "a_cls/IMG5.PPM", "a_cls/img0.png", "a_cls/img2.gif", "a_cls/img4.tif"}
	for i, w := range wantFirst {
		if rel(files[i]) != w {
			t.Fatalf("file %d = %s, want %s (all: %v)", i, rel(files[i]), w, files)
		}
	}
	// Two truncated files sort between: truncated.jpg, truncatedpng.png,
	// then sub/deep/x.png.
	if rel(files[6]) != "a_cls/truncated.jpg" || rel(files[7]) != "a_cls/truncatedpng.png" || rel(files[8]) != "a_cls/sub/deep/x.png" {
		t.Fatalf("order after the top-level files: %v", files[6:9])
	}
	// One epoch: every delivered image carries its class colour, the two
	// truncated files are dropped with a warning each.
	batches := collect(t, d, 0)
	seen := 0
	for _, b := range batches {
		if b.X.Dim(0) != len(b.Labels) || b.Y.Dim(0) != len(b.Labels) {
			t.Fatalf("batch sizes disagree: X %v, %d labels, Y %v", b.X.Shape, len(b.Labels), b.Y.Shape)
		}
		for n, l := range b.Labels {
			px := b.X.Data[n*8*10*3 : n*8*10*3+3]
			want := classColour[l]
			for c, v := range []uint8{want.R, want.G, want.B} {
				if diff := px[c] - float32(v); diff > 3 || diff < -3 {
					t.Fatalf("%s labelled %d has pixel %v, class colour %v", b.Files[n], l, px, want)
				}
			}
			if b.Y.Data[n*3+l] != 1 {
				t.Fatalf("one-hot row %d wrong: %v", n, b.Y.Data[n*3:n*3+3])
			}
		}
		seen += len(b.Labels)
	}
	if seen != 21 {
		t.Fatalf("delivered %d images, want 21", seen)
	}
	sk := d.Skipped()
	if len(sk) != 6 {
		t.Fatalf("after the epoch, skipped %d files, want 6: %v", len(sk), sk)
	}
	for _, p := range corrupt {
		found := false
		for _, s := range sk {
			found = found || s.Path == p
		}
		if !found {
			t.Errorf("%s not listed as skipped", p)
		}
	}
	for _, s := range sk {
		if strings.Contains(s.Path, "truncated") && !strings.Contains(s.Reason, "truncated") && !strings.Contains(s.Reason, "corrupt") {
			t.Errorf("%s: reason %q does not say truncated/corrupt", s.Path, s.Reason)
		}
	}
	// The same files stay out of the next epoch, with no new warning.
	before := strings.Count(log.String(), "Warning")
	n := 0
	for _, b := range collect(t, d, 1) {
		n += len(b.Labels)
	}
	if n != 21 || strings.Count(log.String(), "Warning") != before {
		t.Fatalf("epoch 1 delivered %d (want 21), warnings %d → %d", n, before, strings.Count(log.String(), "Warning"))
	}
}

func TestFromDirectoryErrors(t *testing.T) {
	quiet := Options{Log: &bytes.Buffer{}}
	if _, err := FromDirectory(filepath.Join(t.TempDir(), "missing"), quiet); err == nil {
		t.Error("missing directory: no error")
	}
	empty := t.TempDir()
	if _, err := FromDirectory(empty, quiet); err == nil || !strings.Contains(err.Error(), "no class subfolders") {
		t.Errorf("empty directory: %v", err)
	}
	// Keras keeps these as classes with no images; so do we, with a
	// warning naming the folder, and labels keep their Keras indices.
	dir := t.TempDir()
	write(t, filepath.Join(dir, "good", "a.png"), encode(t, "png", solid(4, 4, classColour[0])))
	write(t, filepath.Join(dir, "bad", "a.png"), []byte("junk"))    // only unusable files
	write(t, filepath.Join(dir, "none", "readme.txt"), []byte("x")) // no image file
	write(t, filepath.Join(dir, "zlocked", "b.png"), encode(t, "png", solid(4, 4, classColour[1])))
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "good", "sub", "c.png"), encode(t, "png", solid(4, 4, classColour[0])))
	locked := map[string]bool{filepath.Join(dir, "zlocked"): true, filepath.Join(dir, "good", "sub"): true}
	readDir = func(p string) ([]os.DirEntry, error) {
		if locked[p] {
			return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrPermission}
		}
		return os.ReadDir(p)
	}
	defer func() { readDir = os.ReadDir }()
	var log bytes.Buffer
	d, err := FromDirectory(dir, Options{Log: &log, ClassMode: "sparse", Shuffle: false})
	if err != nil {
		t.Fatalf("odd class folders: %v\n%s", err, log.String())
	}
	if got, want := d.ClassNames(), []string{"bad", "empty", "good", "none", "zlocked"}; !reflect.DeepEqual(got, want) {
		t.Errorf("classes %v, want %v", got, want)
	}
	if got := d.Labels(); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("labels %v, want [2] (good/a.png only)", got)
	}
	for _, want := range []string{
		"Found 1 images belonging to 5 classes.",
		"skipping " + filepath.Join(dir, "bad", "a.png"),
		`class "zlocked": cannot read class folder ` + filepath.Join(dir, "zlocked"),
		`class "good": skipping unreadable folder ` + filepath.Join(dir, "good", "sub"),
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	for _, c := range []string{"bad", "empty", "none", "zlocked"} {
		if !strings.Contains(log.String(), fmt.Sprintf("class %q (%s) has no usable image; it is kept as a class with no images", c, filepath.Join(dir, c))) {
			t.Errorf("no kept-empty warning for %s:\n%s", c, log.String())
		}
	}
	// Explicit Classes naming a missing folder: an empty class, named.
	log.Reset()
	d, err = FromDirectory(dir, Options{Classes: []string{"good", "nope"}, Log: &log})
	if err != nil || d.NumClasses() != 2 || d.Len() != 1 || !strings.Contains(log.String(), filepath.Join(dir, "nope")) {
		t.Errorf("missing explicit class: err %v, log:\n%s", err, log.String())
	}
	// No usable image anywhere is still an error.
	if _, err := FromDirectory(dir, Options{Classes: []string{"bad", "empty"}, Log: quiet.Log}); err == nil || !strings.Contains(err.Error(), "no usable image") {
		t.Errorf("no usable image at all: %v", err)
	}
	for _, o := range []Options{{ColorMode: "rgba"}, {ClassMode: "input"}, {Interpolation: "lanczos"}, {Subset: "training"},
		{Subset: "test", ValidationSplit: 0.2}, {ValidationSplit: 1.5}, {Augment: &Augment{FillMode: "mirror"}}} {
		o.Log = quiet.Log
		if _, err := FromDirectory(dir, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestValidationSplitKerasIndices checks int(n·split) cuts per class.
func TestValidationSplitKerasIndices(t *testing.T) {
	dir := t.TempDir()
	counts := map[string]int{"x": 7, "y": 10}
	for cls, n := range counts {
		for i := 0; i < n; i++ {
			write(t, filepath.Join(dir, cls, "f"+string(rune('a'+i))+".png"), encode(t, "png", solid(3, 3, classColour[0])))
		}
	}
	var log bytes.Buffer
	val, err := FromDirectory(dir, Options{ValidationSplit: 0.3, Subset: "validation", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := FromDirectory(dir, Options{ValidationSplit: 0.3, Subset: "training", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	// int(7·0.3) = 2, int(10·0.3) = 3.
	rel := func(fs []string) []string {
		var out []string
		for _, f := range fs {
			r, _ := filepath.Rel(dir, f)
			out = append(out, filepath.ToSlash(r))
		}
		return out
	}
	if got, want := rel(val.Files()), []string{"x/fa.png", "x/fb.png", "y/fa.png", "y/fb.png", "y/fc.png"}; !reflect.DeepEqual(got, want) {
		t.Errorf("validation files %v, want %v", got, want)
	}
	if tr.Len() != 5+7 || rel(tr.Files())[0] != "x/fc.png" {
		t.Errorf("training: %d files starting %v", tr.Len(), rel(tr.Files())[:1])
	}
	if !strings.Contains(log.String(), "Found 5 images belonging to 2 classes.\nFound 12 images belonging to 2 classes.\n") {
		t.Errorf("log %q", log.String())
	}
	// Explicit class list reorders labels.
	d, err := FromDirectory(dir, Options{Classes: []string{"y", "x"}, ClassMode: "sparse", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if l := d.Labels(); l[0] != 0 || l[len(l)-1] != 1 || d.Len() != 17 {
		t.Errorf("explicit classes: labels %v", l)
	}
	for _, b := range collect(t, d, 0) {
		if b.Y != nil {
			t.Fatal("sparse mode must leave Y nil")
		}
	}
}

// TestDeterministicAcrossWorkers: same seed, 1 vs 4 workers, with shuffle
// and augmentation, gives identical batches; another seed differs.
func TestDeterministicAcrossWorkers(t *testing.T) {
	dir, _ := makeTree(t)
	aug := &Augment{RotationRange: 30, WidthShiftRange: 0.2, HeightShiftRange: 0.1, ShearRange: 10, ZoomRange: 0.3,
		HorizontalFlip: true, VerticalFlip: true, FillMode: "reflect", Rescale: 1.0 / 255}
	run := func(workers int, seed uint64, cache bool) [][]*Batch {
		d, err := FromDirectory(dir, Options{TargetSize: [2]int{9, 11}, BatchSize: 5, Shuffle: true, Seed: seed, Workers: workers,
			Prefetch: 2, Augment: aug, Cache: cache, Log: &bytes.Buffer{}})
		if err != nil {
			t.Fatal(err)
		}
		return [][]*Batch{collect(t, d, 0), collect(t, d, 1)}
	}
	a, b, c := run(1, 42, false), run(4, 42, true), run(4, 43, false)
	same := func(x, y [][]*Batch) bool {
		for e := range x {
			if len(x[e]) != len(y[e]) {
				return false
			}
			for i := range x[e] {
				if !reflect.DeepEqual(x[e][i].Indices, y[e][i].Indices) || !reflect.DeepEqual(x[e][i].X.Data, y[e][i].X.Data) {
					return false
				}
			}
		}
		return true
	}
	if !same(a, b) {
		t.Fatal("1 worker and 4 workers (cached) gave different batches for the same seed")
	}
	if same(a, c) {
		t.Fatal("seeds 42 and 43 gave identical batches")
	}
	// Resuming at step 2 of epoch 1 gives the same batches as steps 2.. of
	// the uninterrupted epoch.
	d, err := FromDirectory(dir, Options{TargetSize: [2]int{9, 11}, BatchSize: 5, Shuffle: true, Seed: 42, Workers: 2,
		Augment: aug, Log: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	it := d.EpochFrom(context.Background(), 1, 2)
	defer it.Close()
	for k := 2; k < len(a[1]); k++ {
		bt, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(bt.Indices, a[1][k].Indices) || !reflect.DeepEqual(bt.X.Data, a[1][k].X.Data) {
			t.Fatalf("EpochFrom step %d differs from the uninterrupted epoch", k)
		}
	}
	if _, err := it.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last resumed batch: %v", err)
	}
	if reflect.DeepEqual(a[0][0].Indices, a[1][0].Indices) && reflect.DeepEqual(a[0][1].Indices, a[1][1].Indices) {
		t.Fatal("epochs 0 and 1 have the same order")
	}
}

func TestCancel(t *testing.T) {
	dir, _ := makeTree(t)
	d, err := FromDirectory(dir, Options{TargetSize: [2]int{8, 8}, BatchSize: 2, Log: &bytes.Buffer{}, Workers: 2, Prefetch: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	it := d.Epoch(ctx, 0)
	if _, err := it.Next(); err != nil {
		t.Fatal(err)
	}
	cancel()
	var got error
	for i := 0; i < 100 && got == nil; i++ {
		_, got = it.Next()
	}
	if !errors.Is(got, context.Canceled) {
		t.Fatalf("after cancel Next returned %v", got)
	}
	it.Close()
	it.Close()
}

// TestProgress: the scan reports every file; an uncached epoch reports all
// images and every file byte; a cached epoch reads no bytes.
func TestProgress(t *testing.T) {
	dir, _ := makeTree(t)
	var events []ProgressEvent
	d, err := FromDirectory(dir, Options{TargetSize: [2]int{4, 4}, BatchSize: 4, Cache: true, Log: discard{},
		Progress: func(e ProgressEvent) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Phase != "scan" || last.Done != 27 || last.Total != 27 || last.Bytes <= 0 {
		t.Fatalf("scan events %+v (want 27 listed files: 3×7 good + 6 bad)", events)
	}
	var total int64
	for _, f := range d.Files() {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	for epoch, wantBytes := range []int64{total, 0} {
		events = nil
		collect(t, d, epoch)
		if len(events) != d.Steps() {
			t.Fatalf("epoch %d: %d events for %d steps", epoch, len(events), d.Steps())
		}
		last := events[len(events)-1]
		if last.Phase != "epoch" || last.Epoch != epoch || last.Done != 21 || last.Total != 23 || last.Bytes != wantBytes {
			t.Fatalf("epoch %d: last event %+v, want Done 21 of 23, Bytes %d", epoch, last, wantBytes)
		}
		for i := 1; i < len(events); i++ {
			if events[i].Done < events[i-1].Done {
				t.Fatal("Done went backwards")
			}
		}
	}
}

// TestFollowLinksBinaryGrayscale: a symlinked folder is walked only with
// FollowLinks; binary mode gives Y (N, 1); grayscale gives 1 channel with
// PIL's luma of the class colour.
func TestFollowLinksBinaryGrayscale(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	write(t, filepath.Join(dir, "a", "x.png"), encode(t, "png", solid(6, 6, classColour[0])))
	write(t, filepath.Join(dir, "b", "y.png"), encode(t, "png", solid(6, 6, classColour[1])))
	write(t, filepath.Join(other, "z.png"), encode(t, "png", solid(6, 6, classColour[1])))
	if err := os.Symlink(other, filepath.Join(dir, "b", "linked")); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	for follow, want := range map[bool]int{false: 2, true: 3} {
		d, err := FromDirectory(dir, Options{FollowLinks: follow, ClassMode: "binary", ColorMode: "grayscale",
			TargetSize: [2]int{3, 3}, Log: discard{}})
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != want {
			t.Fatalf("FollowLinks=%v: %d files, want %d", follow, d.Len(), want)
		}
		b := collect(t, d, 0)[0]
		if b.X.Dim(3) != 1 || b.Y.Dim(1) != 1 {
			t.Fatalf("shapes X %v Y %v", b.X.Shape, b.Y.Shape)
		}
		for n, l := range b.Labels {
			if b.Y.Data[n] != float32(l) {
				t.Fatalf("binary Y %v for labels %v", b.Y.Data, b.Labels)
			}
			c := classColour[l]
			luma := float32((uint32(c.R)*19595 + uint32(c.G)*38470 + uint32(c.B)*7471 + 0x8000) >> 16)
			if b.X.Data[n*9] != luma {
				t.Fatalf("grayscale value %v, PIL luma %v", b.X.Data[n*9], luma)
			}
		}
	}
	three := t.TempDir()
	for _, c := range []string{"p", "q", "r"} {
		write(t, filepath.Join(three, c, "i.png"), encode(t, "png", solid(2, 2, classColour[0])))
	}
	if _, err := FromDirectory(three, Options{ClassMode: "binary", Log: discard{}}); err == nil {
		t.Error("binary mode with 3 classes accepted")
	}
}
