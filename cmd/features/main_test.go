package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/internal/shards"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg/npy"
)

// Fixtures from vgg/testdata/gen_reference.py: a 1/16-width VGG16 base in
// the Keras 3 legacy layout, two 64x64 RGB images, and PyTorch's features
// for them (block5_pool and its global average).
const (
	weightsFile = "../../vgg/testdata/vgg16_notop_w16_keras3.h5"
	topFile     = "../../vgg/testdata/vgg16_top_w16_keras1.h5"
)

// writeFixturePNGs writes the two reference images as lossless PNGs.
func writeFixturePNGs(t *testing.T, paths ...string) {
	a, err := npy.ReadFile("../../vgg/testdata/img64.npy")
	if err != nil {
		t.Fatal(err)
	}
	for n, p := range paths {
		img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
		for y := 0; y < 64; y++ {
			for x := 0; x < 64; x++ {
				o := ((n*64+y)*64 + x) * 3
				img.Set(x, y, color.NRGBA{uint8(a.I64[o]), uint8(a.I64[o+1]), uint8(a.I64[o+2]), 255})
			}
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readRows(t *testing.T, p string) []shards.Row {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := shards.DecodeRows(f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readManifest(t *testing.T, p string) *shards.Manifest {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m shards.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func readNpy(t *testing.T, p string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// closeRows checks rows of got (N, ...) against ref rows refRows[i] with
// |got − ref| ≤ 1e-4·max|ref| + 1e-4.
func closeRows(t *testing.T, what string, got *npy.Array, gotRows []int, ref *npy.Array) {
	t.Helper()
	per := len(ref.F32) / ref.Shape[0]
	tol := 1e-4*tensor.MaxAbs(ref.F32) + 1e-4
	for r, g := range gotRows {
		d, _ := tensor.MaxAbsDiff(got.F32[g*per:(g+1)*per], ref.F32[r*per:(r+1)*per])
		if d > tol {
			t.Errorf("%s: image %d (row %d) differs from PyTorch by %.3g > %.3g", what, r, g, d, tol)
		}
	}
}

func TestFilesPooledMatchesPyTorch(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writeFixturePNGs(t, a, b)
	out := filepath.Join(dir, "feat.npy")
	var log bytes.Buffer
	// files in reverse order: rows must follow the command line
	if err := run([]string{"-weights", weightsFile, "-size", "64", "-pooling", "avg", "-o", out, b, a}, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	got := readNpy(t, out)
	if !reflect.DeepEqual(got.Shape, []int{2, 32}) || got.Descr != "<f4" {
		t.Fatalf("shape %v %s", got.Shape, got.Descr)
	}
	closeRows(t, "avg features", got, []int{1, 0}, readNpy(t, "../../vgg/testdata/ref_features_64_avg.npy"))
	if files := readRows(t, filepath.Join(dir, "feat_files.jsonl")); len(files) != 2 || files[0].Path != b || files[1].Path != a || files[0].Label != -1 {
		t.Errorf("files list %+v", files)
	}
	if _, err := os.Stat(filepath.Join(dir, "feat_labels.npy")); !os.IsNotExist(err) {
		t.Error("labels written for file input")
	}
}

// A whole-model tf.keras save of base + head (nested "vgg16" group) gives
// the same base features.
func TestNestedModelFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.png")
	writeFixturePNGs(t, a)
	out := filepath.Join(dir, "n.npy")
	var log bytes.Buffer
	if err := run([]string{"-weights", "../../vgg/testdata/nested_vgg16_head_w16_tfkeras.h5", "-size", "64", "-pooling", "avg", "-o", out, a}, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	closeRows(t, "nested-file features", readNpy(t, out), []int{0}, readNpy(t, "../../vgg/testdata/ref_features_64_avg.npy"))
}

func TestFolderNHWC(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "train")
	for _, c := range []string{"cats", "dogs"} {
		os.MkdirAll(filepath.Join(data, c), 0o755)
	}
	writeFixturePNGs(t, filepath.Join(data, "dogs", "d1.png"), filepath.Join(data, "cats", "c1.png"))
	// a JPEG of another size (resized to 64x64) and a corrupt file
	var jb bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 100, 80))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 13)
	}
	jpeg.Encode(&jb, img, nil)
	os.WriteFile(filepath.Join(data, "dogs", "d2.jpg"), jb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(data, "cats", "broken.jpg"), []byte("not an image"), 0o644)

	out := filepath.Join(dir, "bottleneck.npy")
	var log bytes.Buffer
	// the include_top file: the top is ignored, depth/width inferred
	if err := run([]string{"-weights", topFile, "-size", "64", "-o", out, data}, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "broken.jpg") {
		t.Errorf("no warning about the broken file:\n%s", log.String())
	}
	got := readNpy(t, out)
	if !reflect.DeepEqual(got.Shape, []int{3, 2, 2, 32}) {
		t.Fatalf("shape %v", got.Shape)
	}
	for _, v := range got.F32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("non-finite feature")
		}
	}
	// rows: cats/c1.png (image 1), dogs/d1.png (image 0), dogs/d2.jpg
	closeRows(t, "block5_pool features", got, []int{1, 0}, readNpy(t, "../../vgg/testdata/ref_features_64_none.npy"))
	labels := readNpy(t, filepath.Join(dir, "bottleneck_labels.npy"))
	if !reflect.DeepEqual(labels.I64, []int64{0, 1, 1}) {
		t.Errorf("labels %v", labels.I64)
	}
	classes, _ := os.ReadFile(filepath.Join(dir, "bottleneck_classes.jsonl"))
	if string(classes) != `{"index":0,"name":"cats"}`+"\n"+`{"index":1,"name":"dogs"}`+"\n" {
		t.Errorf("classes %q", classes)
	}
	// listing: cats/broken.jpg (skipped), cats/c1.png, dogs/d1.png, dogs/d2.jpg
	files := readRows(t, filepath.Join(dir, "bottleneck_files.jsonl"))
	if len(files) != 3 || !strings.HasSuffix(files[2].Path, "d2.jpg") || files[0].Index != 1 || files[2].Index != 3 || files[2].Label != 1 {
		t.Errorf("files %+v", files)
	}
	man := readManifest(t, filepath.Join(dir, "bottleneck_manifest.json"))
	if len(man.Skipped) != 1 || !strings.HasSuffix(man.Skipped[0].Path, "broken.jpg") || man.Skipped[0].Index != 0 || man.Rows != 3 {
		t.Errorf("manifest skipped %+v rows %d", man.Skipped, man.Rows)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.png")
	writeFixturePNGs(t, good)
	bad := filepath.Join(dir, "bad.png")
	os.WriteFile(bad, []byte("garbage"), 0o644)
	out := filepath.Join(dir, "f.npy")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", out, good}, "-weights is required"},
		{[]string{"-weights", weightsFile, good}, "-o is required"},
		{[]string{"-weights", weightsFile, "-o", "f.txt", good}, ".npy"},
		{[]string{"-weights", weightsFile, "-o", out}, "no input"},
		{[]string{"-weights", weightsFile, "-o", out, "-pooling", "sum", good}, "-pooling"},
		{[]string{"-weights", weightsFile, "-o", out, "-size", "16", good}, "-size 16"},
		{[]string{"-weights", filepath.Join(dir, "none.h5"), "-o", out, good}, "none.h5"},
		{[]string{"-weights", weightsFile, "-o", out, "-width", "0.25", good}, "block1_conv1"},
		{[]string{"-weights", weightsFile, "-o", out, "-depth", "19", good}, "block3_conv4"},
		{[]string{"-weights", weightsFile, "-o", out, good, bad}, bad},
		{[]string{"-weights", "imagenet", "-depth", "11", "-o", out, good}, "VGG11"},
	} {
		var log bytes.Buffer
		err := run(c.args, &log)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("output written despite errors")
	}
}
