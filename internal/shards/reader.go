package shards

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/gotransfer/gotransfer/vgg/npy"
)

// Set is a complete, consistent set of shards: N manifests numbered 0…N−1
// that agree on the listing, the settings and the feature shape. Build it
// with Open; read the features with Load.
type Set struct {
	// Manifests[i] is shard i's manifest.
	Manifests []*Manifest
	// Paths[i] is shard i's manifest file.
	Paths []string
}

// Features are merged shards: every decoded image of the listing, in
// listing order, exactly as one unsharded run would have written them.
type Features struct {
	Data     []float32 // len(Rows) × prod(Shape[1:]), row-major
	Shape    []int     // (rows, feature dims…), e.g. (N, 512) or (N, 7, 7, 512)
	Rows     []Row     // Rows[r] is the image of row r; Label indexes Classes
	Classes  []string  // class names (nil for unlabelled file input)
	Settings Settings
	Listing  ListingInfo
	Skipped  []Skipped // files of the listing that could not be decoded, in listing order
}

// Labels returns Rows[r].Label for every row.
func (f *Features) Labels() []int {
	l := make([]int, len(f.Rows))
	for i, r := range f.Rows {
		l[i] = r.Label
	}
	return l
}

// Merge opens path (see Open) and loads it: Open followed by Set.Load.
func Merge(path string) (*Features, error) {
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	return s.Load()
}

// Open reads the manifests of a shard set and checks that they fit
// together. path is a folder (every *_manifest.json in it is one shard), or
// one output's manifest, .npy file or stem (a single unsharded run, or one
// shard that must then be shard 0/1). It refuses, naming the offending
// manifest file: a folder without manifests, an unreadable or foreign
// manifest, a mix of shard counts, two manifests for one shard, a missing
// shard, and a shard whose listing fingerprint, listing size, settings
// (model, width, input size, precision, pooling, preprocessing,
// interpolation, batch, weights MD5) or feature shape differ from shard 0's.
// Data files are checked by Load.
func Open(path string) (*Set, error) {
	var paths []string
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if paths, err = filepath.Glob(filepath.Join(globEscape(path), "*"+ManifestSuffix)); err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("%s: no feature manifest (*%s): not a folder written by cmd/features", path, ManifestSuffix)
		}
	} else {
		stem := strings.TrimSuffix(strings.TrimSuffix(path, ManifestSuffix), FeaturesSuffix)
		paths = []string{stem + ManifestSuffix}
	}
	sort.Strings(paths)
	var ms []*Manifest
	for _, p := range paths {
		m, err := readManifest(p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	n := ms[0].Shards
	for i, m := range ms {
		if m.Shards != n {
			return nil, fmt.Errorf("a mix of shard counts: %s is shard %d/%d but %s is shard %d/%d", paths[0], ms[0].Shard, n, paths[i], m.Shard, m.Shards)
		}
	}
	s := &Set{Manifests: make([]*Manifest, n), Paths: make([]string, n)}
	for i, m := range ms {
		if prev := s.Paths[m.Shard]; prev != "" {
			return nil, fmt.Errorf("duplicate shard %d/%d: %s and %s", m.Shard, n, prev, paths[i])
		}
		s.Manifests[m.Shard], s.Paths[m.Shard] = m, paths[i]
	}
	var missing []string
	for i, m := range s.Manifests {
		if m == nil {
			missing = append(missing, fmt.Sprintf("%d/%d (%s)", i, n, Shard{i, n}.Base()+ManifestSuffix))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: missing shard(s) %s: run them, or re-run them if they were interrupted", path, strings.Join(missing, ", "))
	}
	ref := s.Manifests[0]
	for i, m := range s.Manifests[1:] {
		if err := sameSource(ref, m); err != nil {
			return nil, fmt.Errorf("%s does not belong with %s: %w", s.Paths[i+1], s.Paths[0], err)
		}
	}
	return s, nil
}

// sameSource compares what must agree between shards.
func sameSource(a, b *Manifest) error {
	if a.Listing.Fingerprint != b.Listing.Fingerprint || a.Listing.Files != b.Listing.Files || a.Listing.Classes != b.Listing.Classes {
		return fmt.Errorf("a different listing: %s (%d files, %d classes, root %s) vs %s (%d files, %d classes, root %s)",
			b.Listing.Fingerprint, b.Listing.Files, b.Listing.Classes, b.Listing.Root,
			a.Listing.Fingerprint, a.Listing.Files, a.Listing.Classes, a.Listing.Root)
	}
	va, vb := reflect.ValueOf(a.Settings), reflect.ValueOf(b.Settings)
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name := strings.Split(va.Type().Field(i).Tag.Get("json"), ",")[0]
			return fmt.Errorf("a different %s: %v vs %v", name, vb.Field(i).Interface(), va.Field(i).Interface())
		}
	}
	if !reflect.DeepEqual(a.FeatureShape, b.FeatureShape) {
		return fmt.Errorf("a different feature shape: %v vs %v", b.FeatureShape, a.FeatureShape)
	}
	if (a.Classes == nil) != (b.Classes == nil) {
		return fmt.Errorf("labelled and unlabelled shards mixed")
	}
	return nil
}

// readManifest reads and sanity-checks one manifest.
func readManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%s: format %q, want %q", path, m.Format, Format)
	}
	if err := (Shard{m.Shard, m.Shards}).Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	per := 1
	for _, d := range m.FeatureShape {
		if d < 1 || d > 1<<20 {
			return nil, fmt.Errorf("%s: feature shape %v", path, m.FeatureShape)
		}
		per *= d
	}
	want := len(Shard{m.Shard, m.Shards}.Positions(m.Listing.Files))
	if m.Rows < 0 || m.Rows+len(m.Skipped) != want || per > 1<<28 {
		return nil, fmt.Errorf("%s: %d rows + %d skipped, but shard %d/%d of %d files has %d", path, m.Rows, len(m.Skipped), m.Shard, m.Shards, m.Listing.Files, want)
	}
	return &m, nil
}

// Load reads every shard's files, checks each against its manifest (size,
// SHA-256, shapes, row numbering, that each row's listing position belongs
// to the shard, labels), and merges the rows in listing order. Errors name
// the shard's file. Memory: the merged features plus one shard's decoded
// features at a time.
func (s *Set) Load() (*Features, error) {
	ref := s.Manifests[0]
	per := 1
	for _, d := range ref.FeatureShape {
		per *= d
	}
	total := 0
	for _, m := range s.Manifests {
		total += m.Rows
	}
	f := &Features{Settings: ref.Settings, Listing: ref.Listing, Shape: append([]int{total}, ref.FeatureShape...)}
	name := func(i int, fs *FileSum) string { return filepath.Join(filepath.Dir(s.Paths[i]), fs.Name) }

	// Pass 1: the small files (rows, labels, classes) of every shard.
	rows := make([][]Row, len(s.Manifests))
	for i, m := range s.Manifests {
		var err error
		if rows[i], err = s.readRows(i, name); err != nil {
			return nil, err
		}
		if m.Classes != nil {
			classes, err := s.readLabels(i, name, rows[i])
			if err != nil {
				return nil, err
			}
			if i == 0 {
				f.Classes = classes
			} else if !reflect.DeepEqual(classes, f.Classes) {
				return nil, fmt.Errorf("%s: classes %q differ from shard 0's %q", name(i, m.Classes), classes, f.Classes)
			}
		}
		f.Skipped = append(f.Skipped, m.Skipped...)
	}

	// Shard i holds positions ≡ i (mod N) in increasing order, so listing
	// order takes rows from the shards round-robin by position; dest[i][k]
	// is the merged row of shard i's row k.
	f.Rows = make([]Row, 0, total)
	dest := make([][]int, len(rows))
	for pos := 0; pos < ref.Listing.Files; pos++ {
		sh := pos % len(rows)
		if k := len(dest[sh]); k < len(rows[sh]) && rows[sh][k].Index == pos {
			dest[sh] = append(dest[sh], len(f.Rows))
			f.Rows = append(f.Rows, rows[sh][k])
		}
	}

	// Pass 2: each shard's features, scattered into place.
	f.Data = make([]float32, total*per)
	for i, m := range s.Manifests {
		var a *npy.Array
		err := readVerified(name(i, &m.Features), m.Features, func(r io.Reader) (err error) {
			a, err = npy.Decode(r, m.Features.Bytes)
			return err
		})
		if err != nil {
			return nil, err
		}
		if !reflect.DeepEqual(a.Shape, append([]int{m.Rows}, m.FeatureShape...)) || a.F32 == nil || a.Descr != "<f4" {
			return nil, fmt.Errorf("%s: array %s %v, manifest says float32 (%d, %v)", name(i, &m.Features), a.Descr, a.Shape, m.Rows, m.FeatureShape)
		}
		for k, d := range dest[i] {
			copy(f.Data[d*per:(d+1)*per], a.F32[k*per:(k+1)*per])
		}
	}
	sort.Slice(f.Skipped, func(a, b int) bool { return f.Skipped[a].Index < f.Skipped[b].Index })
	return f, nil
}

// readRows reads and checks shard i's file list.
func (s *Set) readRows(i int, name func(int, *FileSum) string) ([]Row, error) {
	m := s.Manifests[i]
	var rows []Row
	err := readVerified(name(i, &m.Files), m.Files, func(r io.Reader) (err error) {
		rows, err = DecodeRows(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(rows) != m.Rows {
		return nil, fmt.Errorf("%s: %d rows, manifest says %d", name(i, &m.Files), len(rows), m.Rows)
	}
	for r, row := range rows {
		if row.Index%m.Shards != m.Shard || row.Index < 0 || row.Index >= m.Listing.Files || (r > 0 && row.Index <= rows[r-1].Index) {
			return nil, fmt.Errorf("%s: row %d has listing position %d, which is not shard %d/%d's next position", name(i, &m.Files), r, row.Index, m.Shard, m.Shards)
		}
	}
	return rows, nil
}

// readLabels reads shard i's classes and labels and checks the labels
// against the file list's.
func (s *Set) readLabels(i int, name func(int, *FileSum) string, rows []Row) ([]string, error) {
	m := s.Manifests[i]
	var classes []string
	err := readVerified(name(i, m.Classes), *m.Classes, func(r io.Reader) (err error) {
		classes, err = DecodeClasses(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if m.Labels == nil {
		return nil, fmt.Errorf("%s: labelled shard without a labels file", s.Paths[i])
	}
	var la *npy.Array
	err = readVerified(name(i, m.Labels), *m.Labels, func(r io.Reader) (err error) {
		la, err = npy.Decode(r, m.Labels.Bytes)
		return err
	})
	if err != nil || la.I64 == nil || len(la.I64) != len(rows) {
		return nil, fmt.Errorf("%s: want %d int64 labels (%v)", name(i, m.Labels), len(rows), err)
	}
	for r := range rows {
		if int64(rows[r].Label) != la.I64[r] || rows[r].Label < 0 || rows[r].Label >= len(classes) {
			return nil, fmt.Errorf("%s: row %d label %d, file list says %d (%d classes)", name(i, m.Labels), r, la.I64[r], rows[r].Label, len(classes))
		}
	}
	return classes, nil
}

// readVerified streams a shard file through decode while hashing it, then
// checks its size and SHA-256 against the manifest: a file changed after
// its run is refused, whatever decode made of it (decoders are bounded by
// the size they are given, so a bad file costs no more than a good one).
func readVerified(path string, want FileSum, decode func(io.Reader) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	if st.Size() != want.Bytes {
		return fmt.Errorf("%s: %d bytes, its manifest says %d: the file changed after its run (an interrupted re-run?); re-run this shard", path, st.Size(), want.Bytes)
	}
	h := sha256.New()
	br := bufio.NewReaderSize(fh, 1<<20)
	derr := decode(io.TeeReader(br, h))
	if _, err := io.Copy(h, br); err != nil { // hash whatever decode left unread
		return fmt.Errorf("%s: %w", path, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("%s: SHA-256 differs from its manifest: the file changed after its run (an interrupted re-run?); re-run this shard", path)
	}
	if derr != nil {
		return fmt.Errorf("%s: %w", path, derr)
	}
	return nil
}

// DecodeRows reads a _files.jsonl file (see encodeRows); rows without a
// label get Label −1.
func DecodeRows(r io.Reader) ([]Row, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var rows []Row
	for line := 1; sc.Scan(); line++ {
		var j rowJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if j.Row != len(rows) {
			return nil, fmt.Errorf("line %d: row %d, want %d", line, j.Row, len(rows))
		}
		row := Row{Index: j.Index, Path: j.Path, Label: -1}
		if j.PathBase64 != "" {
			b, err := base64.StdEncoding.DecodeString(j.PathBase64)
			if err != nil {
				return nil, fmt.Errorf("line %d: path_base64: %w", line, err)
			}
			row.Path = string(b)
		}
		if j.Label != nil {
			row.Label = *j.Label
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

// DecodeClasses reads a _classes.jsonl file: line i is {"index":i,"name":…}.
func DecodeClasses(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []string
	for line := 1; sc.Scan(); line++ {
		var j classJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if j.Index != len(out) {
			return nil, fmt.Errorf("line %d: class index %d, want %d", line, j.Index, len(out))
		}
		name := j.Name
		if j.NameBase64 != "" {
			b, err := base64.StdEncoding.DecodeString(j.NameBase64)
			if err != nil {
				return nil, fmt.Errorf("line %d: name_base64: %w", line, err)
			}
			name = string(b)
		}
		out = append(out, name)
	}
	return out, sc.Err()
}
