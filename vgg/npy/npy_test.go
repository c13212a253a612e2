package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The samples were written by numpy.save (see ../testdata/gen_reference.py).
func TestReadNumpyWritten(t *testing.T) {
	a, err := ReadFile("../testdata/npy_sample_f4.npy")
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-0.5, -0.25, 0, 0.25, 0.5, 0.75} // np.arange(6)/4 - 0.5
	if !reflect.DeepEqual(a.Shape, []int{2, 3}) || !reflect.DeepEqual(a.F32, want) || a.Descr != "<f4" {
		t.Errorf("f4 sample: %+v", a)
	}
	b, err := ReadFile("../testdata/npy_sample_i8.npy")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Shape, []int{3}) || !reflect.DeepEqual(b.I64, []int64{3, -1, 7}) {
		t.Errorf("i8 sample: %+v", b)
	}
}

// Our encoder must produce numpy's bytes exactly (same header padding).
func TestEncodeMatchesNumpy(t *testing.T) {
	for _, c := range []struct {
		file string
		enc  func(*bytes.Buffer) error
	}{
		{"npy_sample_f4.npy", func(b *bytes.Buffer) error {
			return EncodeFloat32(b, []int{2, 3}, []float32{-0.5, -0.25, 0, 0.25, 0.5, 0.75})
		}},
		{"npy_sample_i8.npy", func(b *bytes.Buffer) error { return EncodeInt64(b, []int{3}, []int64{3, -1, 7}) }},
	} {
		want, err := os.ReadFile(filepath.Join("../testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := c.enc(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: encoding differs from numpy's\n got %q\nwant %q", c.file, got.Bytes(), want)
		}
	}
}

func TestWriteFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	data := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	if err := WriteFloat32File(p, []int{2, 2, 2}, data); err != nil {
		t.Fatal(err)
	}
	a, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.F32, data) || !reflect.DeepEqual(a.Shape, []int{2, 2, 2}) {
		t.Errorf("round trip: %+v", a)
	}
	if err := WriteFloat32File(p, []int{3}, data); err == nil {
		t.Error("shape/data mismatch accepted")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := os.ReadFile("../testdata/npy_sample_f4.npy")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     {},
		"magic":     append([]byte("xNUMPY"), good[6:]...),
		"truncated": good[:len(good)-3],
		"fortran":   bytes.Replace(good, []byte("False"), []byte("True "), 1),
		"dtype":     bytes.Replace(good, []byte("<f4"), []byte("<c8"), 1),
		"huge":      bytes.Replace(good, []byte("(2, 3)"), []byte("(9999999999999, 3)"), 1),
	}
	for name, b := range cases {
		if _, err := Decode(bytes.NewReader(b), int64(len(b))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range []string{"../testdata/npy_sample_f4.npy", "../testdata/npy_sample_i8.npy", "../testdata/img.npy"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Decode(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if len(a.F32)+len(a.I64) != n {
			t.Fatalf("shape %v but %d elements", a.Shape, len(a.F32)+len(a.I64))
		}
	})
}
