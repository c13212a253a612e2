package hdf5

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLookup3Vectors checks lookup3 against the values printed by the
// driver of Bob Jenkins' published lookup3.c (hashlittle of "" and of
// "Four score and seven years ago" with initial values 0, 1 and 0xdeadbeef).
// The checksums stored in the h5py-written fixtures are the second oracle
// (every fixture test verifies them).
func TestLookup3Vectors(t *testing.T) {
	const four = "Four score and seven years ago"
	for _, c := range []struct {
		s    string
		init uint32
		want uint32
	}{
		{"", 0, 0xdeadbeef},
		{"", 0xdeadbeef, 0xbd5b7dde},
		{four, 0, 0x17770551},
		{four, 1, 0xcd628161},
	} {
		if got := lookup3([]byte(c.s), c.init); got != c.want {
			t.Errorf("lookup3(%q, %#x) = %#08x, want %#08x", c.s, c.init, got, c.want)
		}
	}
}

// checksummed are the signatures of structures that end in (or, for
// direct blocks, hold) a lookup3 checksum.
var checksummed = []string{"OHDR", "OCHK", "BTHD", "BTIN", "BTLF", "FRHP", "FHIB", "FHDB", "FAHD", "FADB", "EAHD", "EAIB", "EASB", "EADB"}

// TestChecksumFlips changes, one at a time, bytes 5, 11, 17 and 23 of
// up to three checksummed structures of each kind in each h5py fixture (and the version-2/3
// superblocks' checksummed bytes). libhdf5 refuses every such file; so must
// we: opening or walking the file must give an error. Each kind of structure
// present must be caught at least once by its checksum (an error saying
// "checksum mismatch" and naming the structure), not only by a later check.
func TestChecksumFlips(t *testing.T) {
	paths, _ := filepath.Glob("testdata/fixtures/*.h5")
	caught := map[string]int{}
	present := map[string]bool{}
	names := map[string]string{"OHDR": "object header", "OCHK": "object header continuation block",
		"BTHD": "B-tree v2 header", "BTIN": "B-tree v2 internal node", "BTLF": "B-tree v2 leaf node",
		"FRHP": "fractal heap header", "FHIB": "fractal heap indirect block", "FHDB": "fractal heap direct block",
		"FAHD": "fixed array header", "FADB": "fixed array data block", "EAHD": "extensible array header",
		"EAIB": "extensible array index block", "EASB": "extensible array super block", "EADB": "extensible array data block",
		"SB": "superblock"}
	for _, p := range paths {
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rec := &recordingReader{r: bytes.NewReader(orig)}
		if f, err := OpenReaderAt(rec, int64(len(orig)), p); err != nil || len(walkAll(f, 1<<20)) != 0 {
			continue // only files that read cleanly (not truncated.h5, unsupported.h5)
		}
		type site struct {
			kind string
			at   int
			n    int
		}
		var sites []site
		if orig[8] >= 2 { // superblock v2/3: 12 bytes + 4 addresses of 8 bytes, then the checksum
			sites = append(sites, site{"SB", 8, 12 + 32 - 8})
		}
		for _, sig := range checksummed {
			for off := 0; ; {
				i := bytes.Index(orig[off:], []byte(sig))
				if i < 0 {
					break
				}
				sites = append(sites, site{sig, off + i, 24})
				off += i + 4
			}
		}
		perKind := map[string]int{}
		for _, s := range sites {
			if s.kind != "SB" && !rec.read[s.at] {
				continue // not a structure the reader visits (e.g. a creation-order index, or chance bytes in data)
			}
			if perKind[s.kind]++; perKind[s.kind] > 3 {
				continue // three structures of each kind per file keep the test fast
			}
			present[s.kind] = true
			for k := s.at + 5; k < s.at+s.n && k < len(orig); k += 6 {
				b := append([]byte(nil), orig...)
				b[k] ^= 0x10
				var errs []error
				f, err := openBytes(b)
				if err != nil {
					errs = []error{err}
				} else {
					errs = walkAll(f, 1<<20)
				}
				if len(errs) == 0 {
					t.Errorf("%s: byte %d of %s at %d flipped: file still reads without error", p, k-s.at, s.kind, s.at)
					continue
				}
				for _, e := range errs {
					if errors.Is(e, ErrCorrupt) && strings.Contains(e.Error(), names[s.kind]) && strings.Contains(e.Error(), "checksum mismatch") {
						caught[s.kind]++
						break
					}
				}
			}
		}
	}
	for kind := range present {
		if caught[kind] == 0 {
			t.Errorf("no flip in a %s was caught by its checksum", names[kind])
		}
	}
	t.Logf("caught by checksum: %v", caught)
}

// recordingReader remembers which byte offsets were read (as the first
// byte of a read), to tell structures the reader visits from unused ones.
type recordingReader struct {
	r    *bytes.Reader
	read map[int]bool
}

func (rr *recordingReader) ReadAt(p []byte, off int64) (int, error) {
	if rr.read == nil {
		rr.read = map[int]bool{}
	}
	rr.read[int(off)] = true
	return rr.r.ReadAt(p, off)
}

// TestFletcher32 reads a fixture whose chunks h5py wrote with the fletcher32
// filter (so every stored checksum must verify), then flips bytes across
// the file: flips inside the chunks must be refused by the checksum.
func TestFletcher32(t *testing.T) {
	orig, err := os.ReadFile("testdata/fixtures/chunked_shuffle_gzip.h5")
	if err != nil {
		t.Fatal(err)
	}
	f, err := openBytes(orig)
	if err != nil {
		t.Fatal(err)
	}
	if errs := walkAll(f, 1000); len(errs) > 0 {
		t.Fatalf("unmodified file: %v", errs)
	}
	caught := 0
	for k := len(orig) / 2; k < len(orig); k += 307 {
		b := append([]byte(nil), orig...)
		b[k] ^= 0x01
		f, err := openBytes(b)
		if err != nil {
			continue
		}
		for _, e := range walkAll(f, 1000) {
			if strings.Contains(e.Error(), "fletcher32 checksum mismatch") {
				caught++
				break
			}
		}
	}
	if caught == 0 {
		t.Fatal("no flipped chunk byte was caught by the fletcher32 checksum")
	}
	t.Logf("%d flips caught by fletcher32", caught)
}

func TestFletcher32Vectors(t *testing.T) {
	// By hand: words 0x0102, 0x0304 → sum1 = 0x0406, sum2 = 0x0102+0x0406 = 0x0508;
	// an odd byte 0x05 is the word 0x0500: sum1 = 0x0906, sum2 = 0x0508+0x0906 = 0x0e0e.
	if got := fletcher32([]byte{1, 2, 3, 4}); got != 0x05080406 {
		t.Errorf("fletcher32(01 02 03 04) = %#08x, want 0x05080406", got)
	}
	if got := fletcher32([]byte{1, 2, 3, 4, 5}); got != 0x0e0e0906 {
		t.Errorf("fletcher32(01 02 03 04 05) = %#08x, want 0x0e0e0906", got)
	}
}
