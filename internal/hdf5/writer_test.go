package hdf5

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestWriterRoundTrip writes the sample Keras file and reads it back with our
// reader, comparing against the values that were written.
func TestWriterRoundTrip(t *testing.T) {
	w, exp := SampleKerasFile()
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	f, err := OpenReaderAt(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "roundtrip.h5")
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, f, exp)
}

// checkSample compares a file against a SampleExpectation.
func checkSample(t *testing.T, f *File, exp SampleExpectation) {
	t.Helper()
	root := f.Root()
	for key, want := range exp.Attrs {
		path, name, _ := strings.Cut(key, "@")
		g, err := root.Group(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := g.Attr(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Strings()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, key := range exp.Scalars {
		path, name, _ := strings.Cut(key, "@")
		g, _ := root.Group(path)
		a, err := g.Attr(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Shape()) != 0 {
			t.Errorf("%s has shape %v, want scalar", key, a.Shape())
		}
	}
	for path, want := range exp.Members {
		g, err := root.Group(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := g.Members()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s members = %q, want %q", path, got, want)
		}
	}
	for path, want := range exp.Datasets {
		d, err := root.Dataset(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d.Shape(), want.Shape) {
			t.Errorf("%s shape %v, want %v", path, d.Shape(), want.Shape)
		}
		v, err := d.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v[:len(want.First)], want.First) {
			t.Errorf("%s starts %v, want %v", path, v[:len(want.First)], want.First)
		}
		var sum float64
		for _, x := range v {
			sum += float64(x)
		}
		if sum != want.Sum {
			t.Errorf("%s sum %v, want %v", path, sum, want.Sum)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.h5")
	if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, exp := SampleKerasFile()
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after WriteFile, want only w.h5", len(entries))
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkSample(t, f, exp)

	// A failing write leaves the old file alone and no temp file behind.
	bad := NewWriter()
	bad.Root().AddFloat32("x", []int{2, 2}, []float32{1, 2, 3})
	if err := bad.WriteFile(path); err == nil || !strings.Contains(err.Error(), "/x") {
		t.Fatalf("shape mismatch: err = %v, want an error naming /x", err)
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed WriteFile", len(entries))
	}
	if _, err := Open(path); err != nil {
		t.Errorf("old file damaged by failed write: %v", err)
	}
}

func TestWriterMisuse(t *testing.T) {
	for name, build := range map[string]func(*Writer){
		"duplicate":  func(w *Writer) { w.Root().Group("a"); w.Root().AddFloat32("a", nil, []float32{1}) },
		"slash":      func(w *Writer) { w.Root().Group("a/b") },
		"empty name": func(w *Writer) { w.Root().AddFloat32("", []int{1}, []float32{1}) },
		"huge attr":  func(w *Writer) { w.Root().SetStringsAttr("names", []string{strings.Repeat("x", 70000)}) },
	} {
		w := NewWriter()
		build(w)
		if _, err := w.WriteTo(&bytes.Buffer{}); err == nil {
			t.Errorf("%s: WriteTo succeeded, want an error", name)
		}
	}
}

func TestErrNotFound(t *testing.T) {
	w, _ := SampleKerasFile()
	var buf bytes.Buffer
	w.WriteTo(&buf)
	f, err := OpenReaderAt(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "nf.h5")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Root().Attr("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing attribute: err = %v, want ErrNotFound", err)
	}
	if _, err := f.Root().Group("nope/x"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing group: err = %v", err)
	}
	if _, err := f.Root().Dataset("block1_conv1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("group opened as dataset: err = %v", err)
	}
	if ok, err := f.Root().IsGroup("block1_conv1"); !ok || err != nil {
		t.Errorf("IsGroup(block1_conv1) = %v, %v", ok, err)
	}
	if ok, err := f.Root().IsGroup("fc1/fc1_b_1:0"); ok || err != nil {
		t.Errorf("IsGroup(dataset) = %v, %v", ok, err)
	}
}
