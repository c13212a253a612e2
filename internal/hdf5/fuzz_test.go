package hdf5

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// walkAll opens every group (depth-first, each object once), reads every
// dataset and every attribute, and returns the errors met. It stops after
// maxObjects objects.
func walkAll(f *File, maxObjects int) []error {
	var errs []error
	seen := map[uint64]bool{}
	var walk func(g *Group, depth int)
	walk = func(g *Group, depth int) {
		if seen[g.addr] || len(seen) >= maxObjects || depth > 32 {
			return
		}
		seen[g.addr] = true
		readAttrs(g.AttrNames, g.Attr, &errs)
		names, err := g.Members()
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, name := range names {
			isGroup, err := g.IsGroup(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if isGroup {
				child, err := g.Group(name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				walk(child, depth+1)
				continue
			}
			d, err := g.Dataset(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if seen[d.addr] {
				continue
			}
			seen[d.addr] = true
			readAttrs(d.AttrNames, d.Attr, &errs)
			if d.dt.isNumeric() {
				_, err = d.ReadFloat32()
			} else {
				_, err = d.Strings()
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	walk(f.Root(), 0)
	return errs
}

func readAttrs(names func() ([]string, error), get func(string) (*Attribute, error), errs *[]error) {
	list, err := names()
	if err != nil {
		*errs = append(*errs, err)
		return
	}
	for _, n := range list {
		a, err := get(n)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		if a.dt.isNumeric() {
			_, err = a.Float64s()
		} else {
			_, err = a.Strings()
		}
		if err != nil {
			*errs = append(*errs, err)
		}
	}
}

// FuzzOpen opens arbitrary bytes, walks every group and reads every dataset
// and attribute. It must never panic, hang or allocate without bound.
// Seeds: every fixture and a file from our writer.
func FuzzOpen(f *testing.F) {
	paths, _ := filepath.Glob("testdata/fixtures/*.h5")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	w, _ := SampleKerasFile()
	var buf bytes.Buffer
	w.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)), "fuzz.h5")
		if err != nil {
			return
		}
		// Keep each run cheap under coverage instrumentation: the budget
		// mechanism itself is exercised by TestBudget.
		file.budget = min(file.budget, 4<<20)
		walkAll(file, 1000)
	})
}

// FuzzMutatedWeights applies a fuzzed edit (up to 16 bytes written at an
// offset, then an optional cut) to one of three h5py-written Keras weight
// files (version-1 headers; libver='latest' with checksums and gzip chunks;
// Keras 3) and reads every weight as Keras does. Random bytes rarely get
// past the superblock; edits of real files reach the deep structures. It
// must never panic, hang or allocate without bound (the values of accepted
// files are checked against h5py by TestHostileWeightFiles).
func FuzzMutatedWeights(f *testing.F) {
	names := []string{"vgg16_notop_w16_tfkeras.h5", "vgg16_notop_w16_gzip_latest.h5", "vgg16_notop_w16_keras3.h5"}
	var bases [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("../../vgg/testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		bases = append(bases, b)
	}
	f.Add(uint8(0), uint32(800), []byte{0xff}, uint32(0))
	f.Add(uint8(1), uint32(48), []byte{0x01, 0x02}, uint32(0))
	f.Add(uint8(2), uint32(1400), []byte{0, 0, 0, 1}, uint32(200000))
	f.Fuzz(func(t *testing.T, which uint8, off uint32, val []byte, cut uint32) {
		base := bases[int(which)%len(bases)]
		b := append([]byte(nil), base...)
		if len(val) > 16 {
			val = val[:16]
		}
		o := int(off) % len(b)
		copy(b[o:], val)
		if cut > 0 && int(cut) < len(b) {
			b = b[:cut]
		}
		file, err := OpenReaderAt(bytes.NewReader(b), int64(len(b)), "fuzz.h5")
		if err != nil {
			return
		}
		KerasDigest(file)
	})
}
