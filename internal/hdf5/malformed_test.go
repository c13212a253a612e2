package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleBytes(t *testing.T) []byte {
	t.Helper()
	w, _ := SampleKerasFile()
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openBytes(b []byte) (*File, error) {
	return OpenReaderAt(bytes.NewReader(b), int64(len(b)), "test.h5")
}

// TestEveryTruncation cuts the sample file at many lengths: every cut must
// give errors (never a panic), and a cut inside the metadata must be noticed.
func TestEveryTruncation(t *testing.T) {
	full := sampleBytes(t)
	for cut := 0; cut < len(full); cut += 37 {
		f, err := openBytes(full[:cut])
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("cut at %d: Open error %v does not wrap ErrCorrupt", cut, err)
			}
			continue
		}
		errs := walkAll(f, 10000)
		if len(errs) == 0 {
			t.Fatalf("cut at %d of %d: walking gave no error", cut, len(full))
		}
	}
}

// TestHeaderContinuationCycle makes the root header's continuation point at itself.
func TestHeaderContinuationCycle(t *testing.T) {
	b := sampleBytes(t)
	f, err := openBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	root := f.rootAddr
	// First message of the root header (version 1: 16-byte prefix, then
	// type(2) size(2) flags(1) reserved(3) body): turn it into a continuation
	// of the chunk that holds it.
	msg := root + 16
	binary.LittleEndian.PutUint16(b[msg:], msgContinuation)
	binary.LittleEndian.PutUint64(b[msg+8:], root+16)
	binary.LittleEndian.PutUint64(b[msg+16:], uint64(binary.LittleEndian.Uint32(b[root+8:])))
	f, err = openBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Root().Members()
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("err = %v, want a cycle error", err)
	}
}

// TestHugeDims: a contiguous dataset claiming far more data than the file holds is refused without allocating it.
func TestHugeDims(t *testing.T) {
	b := sampleBytes(t)
	f, _ := openBytes(b)
	d, err := f.Root().Dataset("fc1/fc1_W_1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The dataspace message is the first message: dims start at body offset 8.
	dims := d.addr + 16 + 8 + 8
	binary.LittleEndian.PutUint64(b[dims:], 1<<40)
	f, _ = openBytes(b)
	// Refused when opened, before any allocation sized by the dims.
	_, err = f.Root().Dataset("fc1/fc1_W_1:0")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "fc1_W_1:0") || !strings.Contains(err.Error(), "more than the whole") {
		t.Fatalf("err = %v, want ErrCorrupt naming the dataset and the file size", err)
	}
}

// TestBudget: fill values and decompression cannot produce more than the file's budget.
func TestBudget(t *testing.T) {
	f, err := Open(filepath.Join("testdata/fixtures", "chunked_gzip.h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := f.Root().Dataset("many_chunks")
	if err != nil {
		t.Fatal(err)
	}
	f.budget = 1000 // less than the 8400 bytes the dataset inflates to
	if _, err := d.ReadFloat32(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err = %v, want a budget error", err)
	}
}

// TestNonIEEEFloatRefused changes one field at a time of the big-endian
// float32 datatype message of types.h5's /f4_be (h5py-written): reading must
// fail naming the dataset; the unchanged message reads.
func TestNonIEEEFloatRefused(t *testing.T) {
	orig, err := os.ReadFile("testdata/fixtures/types.h5")
	if err != nil {
		t.Fatal(err)
	}
	// Class 1 version 1, big-endian with implied mantissa bit, sign at 31,
	// size 4, offset 0, precision 32, exponent at 23 of 8 bits, mantissa at
	// 0 of 23 bits, bias 127.
	msg := []byte{0x11, 0x21, 0x1f, 0x00, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23, 127, 0, 0, 0}
	at := bytes.Index(orig, msg)
	if at < 0 || bytes.Index(orig[at+1:], msg) >= 0 {
		t.Fatal("want exactly one big-endian float32 datatype message in types.h5")
	}
	read := func(b []byte) error {
		f, err := openBytes(b)
		if err != nil {
			return err
		}
		d, err := f.Root().Dataset("f4_be")
		if err != nil {
			return err
		}
		_, err = d.ReadFloat32()
		return err
	}
	if err := read(orig); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rel int
		v   byte
	}{{1, 0x61}, {1, 0x01}, {2, 30}, {6, 1}, {10, 31}, {12, 22}, {13, 7}, {15, 22}, {16, 128}, {4, 8}} {
		b := append([]byte(nil), orig...)
		b[at+c.rel] = c.v
		err := read(b)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "/f4_be") || !strings.Contains(err.Error(), "not IEEE") {
			t.Errorf("byte %d = %#x: err = %v, want ErrUnsupported naming /f4_be", c.rel, c.v, err)
		}
	}
}
