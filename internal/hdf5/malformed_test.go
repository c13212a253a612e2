package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
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
