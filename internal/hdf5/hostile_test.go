package hdf5

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// mutationsFile is testdata/mutations.json, written by
// testdata/gen_mutations.py: mutations of small h5py-written Keras weight
// files from vgg/testdata, each with h5py's verdict.
type mutationsFile struct {
	H5py  string `json:"h5py"`
	HDF5  string `json:"hdf5"`
	Bases map[string]struct {
		SHA256  string `json:"sha256"`
		Digest  string `json:"digest"`
		Weights int    `json:"weights"`
	} `json:"bases"`
	Mutations []mutation `json:"mutations"`
}

type mutation struct {
	Name     string     `json:"name"`
	Base     string     `json:"base"`
	Kind     string     `json:"kind"`
	Writes   [][2]any   `json:"writes"` // [offset, hex bytes]
	Truncate int        `json:"truncate"`
	H5py     h5pyResult `json:"h5py"`
}

type h5pyResult struct {
	OK     bool   `json:"ok"`
	Digest string `json:"digest"`
	Error  string `json:"error"`
}

// apply returns base with m's writes and truncation.
func (m mutation) apply(t *testing.T, base []byte) []byte {
	b := append([]byte(nil), base...)
	for _, w := range m.Writes {
		off, _ := w[0].(float64)
		v, err := hex.DecodeString(w[1].(string))
		if err != nil || int(off)+len(v) > len(b) {
			t.Fatalf("%s: bad write %v", m.Name, w)
		}
		copy(b[int(off):], v)
	}
	if m.Truncate >= 0 {
		b = b[:m.Truncate]
	}
	return b
}

// TestHostileWeightFiles re-applies every mutation recorded by
// gen_mutations.py (bit flips in metadata, truncations, huge or wrong
// dimensions, B-tree cycles, checksum mismatches, float datatype changes)
// and reads the file as Keras does (KerasDigest). h5py is the oracle: a file
// we accept must be one h5py reads, with exactly h5py's values. Refusing a
// file h5py reads is allowed (e.g. a non-IEEE float layout, which libhdf5
// converts and we refuse), and counted. Every refusal must be one of the
// reader's errors (ErrCorrupt, ErrUnsupported, ErrNotFound), never a panic.
func TestHostileWeightFiles(t *testing.T) {
	raw, err := os.ReadFile("testdata/mutations.json")
	if err != nil {
		t.Fatal(err)
	}
	var mf mutationsFile
	if err := json.Unmarshal(raw, &mf); err != nil {
		t.Fatal(err)
	}
	bases := map[string][]byte{}
	for name, want := range mf.Bases {
		b, err := os.ReadFile(filepath.Join("../../vgg/testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want.SHA256 {
			t.Fatalf("%s changed since mutations.json was made: rerun testdata/gen_mutations.py", name)
		}
		f, err := openBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		if d, n, err := KerasDigest(f); err != nil || d != want.Digest || n != want.Weights {
			t.Fatalf("%s: digest %s (%d weights), %v; h5py: %s (%d)", name, d, n, err, want.Digest, want.Weights)
		}
		bases[name] = b
	}
	type tally struct{ n, h5pyOK, same, refused, refusedValid int }
	counts := map[string]*tally{}
	for _, m := range mf.Mutations {
		c := counts[m.Kind]
		if c == nil {
			c = &tally{}
			counts[m.Kind] = c
		}
		c.n++
		if m.H5py.OK {
			c.h5pyOK++
		}
		b := m.apply(t, bases[m.Base])
		var digest string
		f, err := OpenReaderAt(bytes.NewReader(b), int64(len(b)), m.Name)
		if err == nil {
			digest, _, err = KerasDigest(f)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%s: error %v is not an *hdf5.Error", m.Name, err)
			}
			c.refused++
			if m.H5py.OK {
				c.refusedValid++
				t.Logf("%s: refused a file h5py reads: %v", m.Name, err)
			}
			continue
		}
		switch {
		case !m.H5py.OK:
			t.Errorf("%s: accepted a file h5py refuses (%s)", m.Name, m.H5py.Error)
		case digest != m.H5py.Digest:
			t.Errorf("%s: accepted with values that differ from h5py's", m.Name)
		default:
			c.same++
		}
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		c := counts[kind]
		t.Logf("%-8s %3d files: h5py reads %3d; we read %3d (same values as h5py), refuse %3d (%d of them read by h5py)",
			kind, c.n, c.h5pyOK, c.same, c.refused, c.refusedValid)
	}
	if len(mf.Mutations) < 500 {
		t.Errorf("only %d mutations recorded, want at least 500", len(mf.Mutations))
	}
}
