package shards

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/dataset"
)

// tinyPNG writes a valid 2x2 PNG.
func tinyPNG(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestListMatchesDataset: List gives the files, labels and classes that
// dataset.FromDirectory lists (when every file is a valid image), on a
// tree with nested folders, upper-case and dot-less extensions, names that
// sort differently by byte and by case, a non-image file and a link to a
// folder (not followed).
func TestListMatchesDataset(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"b/z.png", "b/A.PNG", "b/sub/a.jpg.png", "b/sub2/x.png", "b/sub/deeper/q.png", "b/xpng",
		"a/1.png", "a/10.png", "a/2.png", "a/ä.png", "a/_.png", "c d/new\nline.png",
	} {
		tinyPNG(t, filepath.Join(dir, p))
	}
	os.WriteFile(filepath.Join(dir, "a", "notes.txt"), []byte("x"), 0o644)
	os.Symlink(filepath.Join(dir, "a"), filepath.Join(dir, "b", "link"))
	l, err := List(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dataset.FromDirectory(dir, dataset.Options{TargetSize: [2]int{2, 2}, ClassMode: "sparse", Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Files, d.Files()) || !reflect.DeepEqual(l.Labels, d.Labels()) || !reflect.DeepEqual(l.Classes, d.ClassNames()) {
		t.Errorf("List:\n%q %v %q\ndataset:\n%q %v %q", l.Files, l.Labels, l.Classes, d.Files(), d.Labels(), d.ClassNames())
	}
	if len(l.Files) != 12 {
		t.Errorf("%d files, want 12: %q", len(l.Files), l.Files)
	}
}

// TestListEmptyClass: an empty class folder is kept as a class with no
// files, with a warning naming it.
func TestListEmptyClass(t *testing.T) {
	dir := t.TempDir()
	tinyPNG(t, filepath.Join(dir, "a", "1.png"))
	os.Mkdir(filepath.Join(dir, "b"), 0o755)
	var w bytes.Buffer
	l, err := List(dir, &w)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Classes, []string{"a", "b"}) || len(l.Files) != 1 || !strings.Contains(w.String(), filepath.Join(dir, "b")) {
		t.Errorf("classes %q files %q warning %q", l.Classes, l.Files, w.String())
	}
	if _, err := List(filepath.Join(dir, "a"), nil); err == nil || !strings.Contains(err.Error(), "no class subfolders") {
		t.Errorf("folder without classes: %v", err)
	}
}

// TestFingerprint: independent of the root, sensitive to a rename, a label
// change, and a class name; unambiguous where a naive concatenation is not.
func TestFingerprint(t *testing.T) {
	base := Listing{Root: "/a", Classes: []string{"x", "y"}, Files: []string{"/a/x/1.png", "/a/y/2.png"}, Labels: []int{0, 1}}
	moved := Listing{Root: "/mnt/b", Classes: []string{"x", "y"}, Files: []string{"/mnt/b/x/1.png", "/mnt/b/y/2.png"}, Labels: []int{0, 1}}
	if base.Fingerprint() != moved.Fingerprint() {
		t.Error("fingerprint depends on the mount point")
	}
	for name, l := range map[string]Listing{
		"renamed file": {Root: "/a", Classes: []string{"x", "y"}, Files: []string{"/a/x/1.png", "/a/y/3.png"}, Labels: []int{0, 1}},
		"label":        {Root: "/a", Classes: []string{"x", "y"}, Files: []string{"/a/x/1.png", "/a/y/2.png"}, Labels: []int{0, 0}},
		"class":        {Root: "/a", Classes: []string{"x", "z"}, Files: []string{"/a/x/1.png", "/a/y/2.png"}, Labels: []int{0, 1}},
		"split names":  {Root: "/a", Classes: []string{"xy"}, Files: []string{"/a/x/1.png", "/a/y/2.png"}, Labels: []int{0, 1}},
	} {
		if l.Fingerprint() == base.Fingerprint() {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}

// TestShardPositions: N shards of n files are disjoint, cover 0…n−1 and
// differ in size by at most one.
func TestShardPositions(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100} {
		for _, k := range []int{1, 2, 3, 8, 150} {
			seen := make([]int, n)
			lo, hi := n, 0
			for i := 0; i < k; i++ {
				p := Shard{i, k}.Positions(n)
				lo, hi = min(lo, len(p)), max(hi, len(p))
				for _, x := range p {
					seen[x]++
				}
			}
			for x, c := range seen {
				if c != 1 {
					t.Fatalf("n %d, %d shards: position %d in %d shards", n, k, x, c)
				}
			}
			if hi-lo > 1 {
				t.Errorf("n %d, %d shards: sizes %d..%d", n, k, lo, hi)
			}
		}
	}
}

func TestParseAndAutoShard(t *testing.T) {
	if s, err := ParseShard("2/8"); err != nil || s != (Shard{2, 8}) {
		t.Errorf("2/8: %v %v", s, err)
	}
	for _, bad := range []string{"8/8", "-1/3", "1", "a/3", "0/0", "1/2000000"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if s, err := AutoShard(5, env(map[string]string{"JOB_COMPLETION_INDEX": "3"})); err != nil || s != (Shard{3, 5}) {
		t.Errorf("auto with -shards: %v %v", s, err)
	}
	if s, err := AutoShard(0, env(map[string]string{"JOB_COMPLETION_INDEX": "0", "JOB_COMPLETIONS": "4"})); err != nil || s != (Shard{0, 4}) {
		t.Errorf("auto with JOB_COMPLETIONS: %v %v", s, err)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "JOB_COMPLETION_INDEX is not set"},
		{map[string]string{"JOB_COMPLETION_INDEX": "1"}, "-shards N"},
		{map[string]string{"JOB_COMPLETION_INDEX": "x", "JOB_COMPLETIONS": "4"}, "not an integer"},
		{map[string]string{"JOB_COMPLETION_INDEX": "4", "JOB_COMPLETIONS": "4"}, "between 0 and N-1"},
	} {
		if _, err := AutoShard(0, env(c.env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.env, err, c.want)
		}
	}
}

// writeSet writes n shards of a synthetic labelled listing of 10 files
// (feature row = 3 floats derived from the position; position 4 skipped).
func writeSet(t *testing.T, dir string, n int, edit func(i int, o *Output)) {
	t.Helper()
	for i := 0; i < n; i++ {
		sh := Shard{i, n}
		o := Output{Base: filepath.Join(dir, sh.Base()), Classes: []string{"ants", "bees\nand wasps"}}
		o.Manifest = Manifest{Shard: i, Shards: n,
			Listing:  ListingInfo{Fingerprint: "sha256:abc", Root: "/data", Files: 10, Classes: 2},
			Settings: Settings{Model: "vgg16", Width: 1, InputSize: [2]int{224, 224}, Precision: "fp32", Pooling: "avg", Preprocessing: "caffe", Interpolation: "bilinear", Batch: 16, WeightsMD5: "md5"}}
		for _, p := range sh.Positions(10) {
			if p == 4 {
				o.Manifest.Skipped = append(o.Manifest.Skipped, Skipped{p, "/data/bees/4.png", "bad"})
				continue
			}
			o.Rows = append(o.Rows, Row{p, "/data/x/" + strings.Repeat("\n", p) + "f.png", p % 2})
			o.Features = append(o.Features, float32(p), float32(p)*0.5, -float32(p))
		}
		o.Shape = []int{len(o.Rows), 3}
		if edit != nil {
			edit(i, &o)
		}
		if err := Begin(o.Base); err != nil {
			t.Fatal(err)
		}
		if err := Write(o); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteMerge: shards written separately merge into listing order, with
// file names holding newlines intact, labels, classes and the skipped file.
func TestWriteMerge(t *testing.T) {
	for _, n := range []int{1, 3, 4} {
		dir := t.TempDir()
		writeSet(t, dir, n, nil)
		f, err := Merge(dir)
		if err != nil {
			t.Fatalf("%d shards: %v", n, err)
		}
		if !reflect.DeepEqual(f.Shape, []int{9, 3}) || len(f.Rows) != 9 {
			t.Fatalf("shape %v", f.Shape)
		}
		r := 0
		for p := 0; p < 10; p++ {
			if p == 4 {
				continue
			}
			want := Row{p, "/data/x/" + strings.Repeat("\n", p) + "f.png", p % 2}
			if f.Rows[r] != want || f.Data[3*r] != float32(p) || f.Data[3*r+2] != -float32(p) {
				t.Errorf("%d shards: row %d %+v %v, want %+v", n, r, f.Rows[r], f.Data[3*r:3*r+3], want)
			}
			r++
		}
		if !reflect.DeepEqual(f.Classes, []string{"ants", "bees\nand wasps"}) || len(f.Skipped) != 1 || f.Skipped[0].Index != 4 {
			t.Errorf("classes %q skipped %v", f.Classes, f.Skipped)
		}
		// The file list has exactly one line per row despite the newlines.
		b, _ := os.ReadFile(filepath.Join(dir, Shard{0, n}.Base()+FilesSuffix))
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		var first map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || len(lines) != len(Shard{0, n}.Positions(10))-btoi(n == 1 || n == 4) {
			t.Errorf("%d shards: %d lines, %v", n, len(lines), err)
		}
		st, _ := os.Stat(filepath.Join(dir, Shard{0, n}.Base()+FeaturesSuffix))
		if st.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, want 0644", st.Mode().Perm())
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPathNotUTF8: a file name that is not valid UTF-8 survives.
func TestPathNotUTF8(t *testing.T) {
	var b bytes.Buffer
	rows := []Row{{0, "a/\xff\xfe.png", 1}, {2, "ok.png", 0}}
	if err := encodeRows(&b, rows, true); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRows(&b)
	if err != nil || !reflect.DeepEqual(got, rows) {
		t.Errorf("%+v %v", got, err)
	}
}

// TestMergeRefusals: each inconsistency is refused, naming the shard.
func TestMergeRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(dir string)
		want  []string
	}{
		{"missing", func(dir string) {
			writeSet(t, dir, 3, nil)
			os.Remove(filepath.Join(dir, "shard-00001-of-00003"+ManifestSuffix))
		}, []string{"missing shard(s) 1/3", "shard-00001-of-00003_manifest.json"}},
		{"duplicate", func(dir string) {
			writeSet(t, dir, 3, nil)
			b, _ := os.ReadFile(filepath.Join(dir, "shard-00002-of-00003"+ManifestSuffix))
			os.WriteFile(filepath.Join(dir, "copy"+ManifestSuffix), b, 0o644)
		}, []string{"duplicate shard 2/3", "copy_manifest.json", "shard-00002-of-00003_manifest.json"}},
		{"counts", func(dir string) {
			writeSet(t, dir, 3, nil)
			writeSet(t, dir, 2, nil)
		}, []string{"mix of shard counts", "shard-00000-of-00003_manifest.json"}},
		{"weights", func(dir string) {
			writeSet(t, dir, 3, func(i int, o *Output) {
				if i == 2 {
					o.Manifest.Settings.WeightsMD5 = "other"
				}
			})
		}, []string{"shard-00002-of-00003_manifest.json", "weights_md5", "other"}},
		{"pooling", func(dir string) {
			writeSet(t, dir, 3, func(i int, o *Output) {
				if i == 1 {
					o.Manifest.Settings.Pooling = "max"
				}
			})
		}, []string{"shard-00001-of-00003_manifest.json", "pooling"}},
		{"listing", func(dir string) {
			writeSet(t, dir, 3, func(i int, o *Output) {
				if i == 1 {
					o.Manifest.Listing.Fingerprint = "sha256:def"
				}
			})
		}, []string{"shard-00001-of-00003_manifest.json", "different listing"}},
		{"tampered", func(dir string) {
			writeSet(t, dir, 3, nil)
			p := filepath.Join(dir, "shard-00001-of-00003"+FeaturesSuffix)
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o644)
		}, []string{"shard-00001-of-00003.npy", "SHA-256"}},
		{"wrong rows", func(dir string) {
			writeSet(t, dir, 3, func(i int, o *Output) {
				if i == 1 {
					o.Rows[0].Index = 2
				}
			})
		}, []string{"shard-00001-of-00003_files.jsonl", "listing position 2"}},
		{"empty", func(dir string) {}, []string{"no feature manifest"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		c.setup(dir)
		_, err := Merge(dir)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want it to mention %q", c.name, err, w)
			}
		}
	}
}

// TestRerunInterrupted: Begin removes the shard's manifest and stale
// temporaries, so a re-run killed before its manifest reads as missing.
func TestRerunInterrupted(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, 2, nil)
	base := filepath.Join(dir, Shard{1, 2}.Base())
	stale := filepath.Join(dir, "."+filepath.Base(base)+".npy.tmp123")
	os.WriteFile(stale, []byte("x"), 0o600)
	// another run's temporaries whose stems start with this one's
	others := []string{filepath.Join(dir, "."+filepath.Base(base)+"0.npy.tmp5"), filepath.Join(dir, ".shard-00001-of-00020.npy.tmp7")}
	for _, o := range others {
		os.WriteFile(o, []byte("x"), 0o600)
	}
	if err := Begin(base); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("stale temporary file kept")
	}
	for _, o := range others {
		if _, err := os.Stat(o); err != nil {
			t.Errorf("another stem's temporary removed: %v", err)
		}
	}
	if _, err := Merge(dir); err == nil || !strings.Contains(err.Error(), "missing shard(s) 1/2") {
		t.Errorf("interrupted re-run: %v", err)
	}
}

// TestListUnreadable: an unreadable folder inside a class is skipped with a
// warning naming it (its siblings are kept); an unreadable class folder
// leaves its class with no files.
func TestListUnreadable(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/1.png", "a/sub/2.png", "a/tub/3.png", "b/4.png", "c/5.png"} {
		tinyPNG(t, filepath.Join(dir, p))
	}
	deny := map[string]bool{filepath.Join(dir, "a", "sub"): true, filepath.Join(dir, "b"): true}
	readDir = func(p string) ([]os.DirEntry, error) {
		if deny[p] {
			return nil, os.ErrPermission
		}
		return os.ReadDir(p)
	}
	defer func() { readDir = os.ReadDir }()
	var w bytes.Buffer
	l, err := List(dir, &w)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a", "1.png"), filepath.Join(dir, "a", "tub", "3.png"), filepath.Join(dir, "c", "5.png")}
	if !reflect.DeepEqual(l.Files, want) || !reflect.DeepEqual(l.Labels, []int{0, 0, 2}) || len(l.Classes) != 3 {
		t.Errorf("files %q labels %v classes %q", l.Files, l.Labels, l.Classes)
	}
	for _, d := range []string{filepath.Join(dir, "a", "sub"), filepath.Join(dir, "b")} {
		if !strings.Contains(w.String(), d) {
			t.Errorf("no warning naming %s:\n%s", d, w.String())
		}
	}
	if _, err := ListFolder(filepath.Join(dir, "b"), nil); err == nil {
		t.Error("an unreadable root folder listed without error")
	}
}

// TestWeightsMD5: RFC 1321's test vector MD5("abc"); a missing file is an
// error naming it.
func TestWeightsMD5(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.h5")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := WeightsMD5(path); err != nil || got != "900150983cd24fb0d6963f7d28e17f72" {
		t.Errorf("WeightsMD5(abc) = %q, %v", got, err)
	}
	missing := filepath.Join(t.TempDir(), "none.h5")
	if _, err := WeightsMD5(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}
