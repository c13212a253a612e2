package shards

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg/npy"
)

// Format identifies manifests written by this package.
const Format = "gotransfer-features/1"

// Output file suffixes appended to a stem (Output.Base).
const (
	FeaturesSuffix = ".npy"
	LabelsSuffix   = "_labels.npy"
	FilesSuffix    = "_files.jsonl"
	ClassesSuffix  = "_classes.jsonl"
	ManifestSuffix = "_manifest.json"
)

// Settings are what decides the features' values. Shards are merged only
// when their Settings are equal field by field.
type Settings struct {
	Model         string  `json:"model"`         // "vgg16", "vgg19", …
	Width         float64 `json:"width"`         // channel multiplier, 1 = the real VGG
	InputSize     [2]int  `json:"input_size"`    // height, width in pixels images are resized to
	Precision     string  `json:"precision"`     // "fp32": float32 forward and storage
	Pooling       string  `json:"pooling"`       // "none" (N,h,w,C), "avg" or "max" (N,C)
	Preprocessing string  `json:"preprocessing"` // "caffe": RGB→BGR minus the ImageNet means
	Interpolation string  `json:"interpolation"` // resize filter, "bilinear"
	// Batch is the forward batch size. Every forward pass has exactly Batch
	// images (the last one padded with zero images whose rows are dropped):
	// a row's float32 rounding depends on the batch size the convolutions
	// are planned for, not on the other images, so equal Batch makes a
	// row's features bitwise independent of the sharding.
	Batch      int    `json:"batch"`
	WeightsMD5 string `json:"weights_md5"` // hex MD5 of the weights file
}

// WeightsMD5 returns the hex MD5 of the file at path: Settings.WeightsMD5
// for a weights file (cmd/features records it; cmd/finetune -features
// checks its -weights against it).
func WeightsMD5(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ListingInfo identifies the listing a shard was cut from.
type ListingInfo struct {
	Fingerprint string `json:"fingerprint"` // Listing.Fingerprint
	Root        string `json:"root"`        // the folder as this shard saw it (informative)
	Files       int    `json:"files"`       // files in the whole listing
	Classes     int    `json:"classes"`     // classes in the whole listing
}

// FileSum names one output file with its size and SHA-256, so a reader can
// tell a complete shard from one whose re-run was interrupted.
type FileSum struct {
	Name   string `json:"name"` // base name, in the manifest's folder
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Skipped is a listed file that could not be decoded.
type Skipped struct {
	Index  int    `json:"index"` // listing position
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Manifest is <stem>_manifest.json, written last: a shard whose manifest
// exists and whose files match its sums is complete.
type Manifest struct {
	Format       string      `json:"format"` // Format
	Shard        int         `json:"shard"`  // I
	Shards       int         `json:"shards"` // N
	Listing      ListingInfo `json:"listing"`
	Settings     Settings    `json:"settings"`
	WeightsFile  string      `json:"weights_file"`  // path as this shard saw it (informative)
	FeatureShape []int       `json:"feature_shape"` // per row, e.g. [7,7,512] or [512]
	Rows         int         `json:"rows"`          // rows written = positions − skipped
	Skipped      []Skipped   `json:"skipped"`       // listed files that could not be decoded
	Features     FileSum     `json:"features"`
	Labels       *FileSum    `json:"labels,omitempty"`  // nil for file (unlabelled) input
	Files        FileSum     `json:"files"`             // the file list
	Classes      *FileSum    `json:"classes,omitempty"` // nil for file input
}

// Row is one row of the features: the image it came from.
type Row struct {
	Index int    // listing position (folder input) or position on the command line
	Path  string // the file as listed
	Label int    // class index; −1 for unlabelled file input
}

// rowJSON is one line of a _files.jsonl file.
type rowJSON struct {
	Row        int    `json:"row"`
	Index      int    `json:"index"`
	Path       string `json:"path"`
	PathBase64 string `json:"path_base64,omitempty"`
	Label      *int   `json:"label,omitempty"`
}

// classJSON is one line of a _classes.jsonl file.
type classJSON struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	NameBase64 string `json:"name_base64,omitempty"`
}

// Output is everything one run (or one shard) writes under a stem Base:
// Base.npy, Base_labels.npy, Base_files.jsonl, Base_classes.jsonl and
// Base_manifest.json.
type Output struct {
	Base     string    // path stem, e.g. "feats/shard-00001-of-00003" or "out"
	Manifest Manifest  // filled by the caller except Rows, FeatureShape and the sums
	Features []float32 // rows × prod(Shape[1:]) float32, row-major
	Shape    []int     // (rows, feature dims…)
	Rows     []Row     // Rows[r] is the image of feature row r
	Classes  []string  // class names (nil: unlabelled input, no labels or classes file)
}

// Begin prepares Base for a (re-)run: it removes Base's manifest, so an
// interrupted run leaves a shard that reads as missing rather than stale,
// and stale temporary files left by a killed run.
func Begin(base string) error {
	if err := os.Remove(base + ManifestSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// Only this stem's own temporaries: ".out.npy.tmp*" must not match
	// ".out2.npy.tmp*", another run's file in progress.
	for _, suffix := range []string{FeaturesSuffix, LabelsSuffix, FilesSuffix, ClassesSuffix, ManifestSuffix} {
		stale, _ := filepath.Glob(filepath.Join(filepath.Dir(base), "."+globEscape(filepath.Base(base)+suffix)+".tmp*"))
		for _, s := range stale {
			os.Remove(s)
		}
	}
	return nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

// Write writes o's files, each atomically (temporary file, fsync, rename,
// mode 0644 like cmd/finetune's outputs), the manifest last.
func Write(o Output) error {
	m := o.Manifest
	m.Format = Format
	if len(o.Shape) == 0 || o.Shape[0] != len(o.Rows) {
		return fmt.Errorf("features shape %v does not match %d rows", o.Shape, len(o.Rows))
	}
	m.Rows = len(o.Rows)
	m.FeatureShape = append([]int(nil), o.Shape[1:]...)
	var err error
	if m.Features, err = writeSum(o.Base+FeaturesSuffix, func(w io.Writer) error { return npy.EncodeFloat32(w, o.Shape, o.Features) }); err != nil {
		return err
	}
	labelled := o.Classes != nil
	if m.Files, err = writeSum(o.Base+FilesSuffix, func(w io.Writer) error { return encodeRows(w, o.Rows, labelled) }); err != nil {
		return err
	}
	m.Labels, m.Classes = nil, nil
	if labelled {
		l := make([]int64, len(o.Rows))
		for i, r := range o.Rows {
			l[i] = int64(r.Label)
		}
		s, err := writeSum(o.Base+LabelsSuffix, func(w io.Writer) error { return npy.EncodeInt64(w, []int{len(l)}, l) })
		if err != nil {
			return err
		}
		c, err := writeSum(o.Base+ClassesSuffix, func(w io.Writer) error { return encodeClasses(w, o.Classes) })
		if err != nil {
			return err
		}
		m.Labels, m.Classes = &s, &c
	}
	if m.Skipped == nil {
		m.Skipped = []Skipped{}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(o.Base+ManifestSuffix, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

// encodeRows writes one JSON object per line: {"row":R,"index":I,"path":P,
// "label":K}, with "path_base64" (standard base64 of the raw bytes) added
// when the name is not valid UTF-8, since JSON strings cannot carry such
// bytes. JSON escapes newlines and every control character, so any file
// name stays on its line.
func encodeRows(w io.Writer, rows []Row, labelled bool) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, r := range rows {
		j := rowJSON{Row: i, Index: r.Index, Path: r.Path}
		if !utf8.ValidString(r.Path) {
			j.PathBase64 = base64.StdEncoding.EncodeToString([]byte(r.Path))
		}
		if labelled {
			l := r.Label
			j.Label = &l
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// encodeClasses writes {"index":I,"name":NAME} per line (plus
// "name_base64" for names that are not valid UTF-8).
func encodeClasses(w io.Writer, classes []string) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i, c := range classes {
		j := classJSON{Index: i, Name: c}
		if !utf8.ValidString(c) {
			j.NameBase64 = base64.StdEncoding.EncodeToString([]byte(c))
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeSum writes path atomically and returns its name, size and SHA-256.
func writeSum(path string, fill func(io.Writer) error) (FileSum, error) {
	h := sha256.New()
	var n int64
	err := WriteAtomic(path, func(w io.Writer) error {
		cw := &countWriter{w: io.MultiWriter(w, h)}
		err := fill(cw)
		n = cw.n
		return err
	})
	if err != nil {
		return FileSum{}, err
	}
	return FileSum{Name: filepath.Base(path), Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteAtomic writes path through a temporary file beside it (".NAME.tmp*"):
// fill writes the content, buffered, and train.WriteAtomic syncs the file,
// gives it mode 0644 (the mode cmd/finetune gives its outputs) and renames
// it over path. On error the temporary file is removed and path is
// untouched.
func WriteAtomic(path string, fill func(io.Writer) error) error {
	return train.WriteAtomic(path, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}
