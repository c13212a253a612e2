package hdf5

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// expected.json is written by testdata/gen_fixtures.py: h5py's view of every
// fixture (never values computed by this package).
type expectedJSON struct {
	Files     map[string]fileView `json:"files"`
	Truncated struct {
		File string `json:"file"`
	} `json:"truncated"`
	VGG *vggView `json:"vgg16_notop"`
}

type fileView struct {
	Groups      map[string]groupView   `json:"groups"`
	Datasets    map[string]datasetView `json:"datasets"`
	Unsupported map[string]string      `json:"unsupported"`
	Info        struct {
		Superblock int `json:"superblock"`
	} `json:"info"`
}

type groupView struct {
	Members []string            `json:"members"`
	Attrs   map[string]attrView `json:"attrs"`
}

type attrView struct {
	Kind   string            `json:"kind"`
	Shape  []int             `json:"shape"`
	Values []json.RawMessage `json:"values"`
	Head   []string          `json:"head"`
	Tail   []string          `json:"tail"`
	MD5    string            `json:"md5"`
}

type datasetView struct {
	SameAs  string              `json:"same_as"`
	Shape   []int               `json:"shape"`
	Dtype   string              `json:"dtype"`
	Attrs   map[string]attrView `json:"attrs"`
	Strings []string            `json:"strings"`
	Sum     float64             `json:"sum"`
	First   []float64           `json:"first"`
	Values  []float64           `json:"values"`
}

type vggView struct {
	Path       string   `json:"path"`
	Size       int64    `json:"size"`
	LayerNames []string `json:"layer_names"`
	Layers     map[string]struct {
		WeightNames []string  `json:"weight_names"`
		Shapes      [][]int   `json:"shapes"`
		Sums        []float64 `json:"sums"`
	} `json:"layers"`
	Block1 struct {
		First   []float64 `json:"first"`
		At2_1_0 float64   `json:"at_2_1_0_63"`
		At0_2_1 float64   `json:"at_0_2_1_17"`
	} `json:"block1_conv1_W"`
}

func loadExpected(t testing.TB) *expectedJSON {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expectedJSON
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// TestFixtures compares our reader with h5py's view of every fixture.
func TestFixtures(t *testing.T) {
	e := loadExpected(t)
	if len(e.Files) < 10 {
		t.Fatalf("expected.json lists only %d fixtures", len(e.Files))
	}
	for name, view := range e.Files {
		t.Run(name, func(t *testing.T) {
			f, err := Open(filepath.Join("testdata/fixtures", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.superVersion != view.Info.Superblock {
				t.Errorf("superblock version %d, h5py says %d", f.superVersion, view.Info.Superblock)
			}
			for path, gv := range view.Groups {
				checkGroup(t, f, path, gv)
			}
			for path, dv := range view.Datasets {
				checkDataset(t, f, path, dv, view.Datasets)
			}
			for path, what := range view.Unsupported {
				checkUnsupported(t, f, path, what)
			}
		})
	}
}

func checkGroup(t *testing.T, f *File, path string, gv groupView) {
	g, err := f.Root().Group(path)
	if err != nil {
		t.Errorf("group %s: %v", path, err)
		return
	}
	members, err := g.Members()
	if err != nil {
		t.Errorf("group %s: %v", path, err)
		return
	}
	if !reflect.DeepEqual(members, gv.Members) && len(members)+len(gv.Members) > 0 {
		t.Errorf("group %s members %q, h5py %q", path, members, gv.Members)
	}
	for _, m := range members {
		if _, err := g.IsGroup(m); err != nil && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: IsGroup(%q): %v", path, m, err)
		}
	}
	checkAttrs(t, path, gv.Attrs, g.AttrNames, g.Attr)
}

func checkAttrs(t *testing.T, path string, want map[string]attrView, names func() ([]string, error), get func(string) (*Attribute, error)) {
	got, err := names()
	if err != nil {
		t.Errorf("%s: AttrNames: %v", path, err)
		return
	}
	var wantNames []string
	for n := range want {
		wantNames = append(wantNames, n)
	}
	sort.Strings(got)
	sort.Strings(wantNames)
	if !reflect.DeepEqual(got, wantNames) && len(got)+len(wantNames) > 0 {
		t.Errorf("%s: attribute names %q, h5py %q", path, got, wantNames)
	}
	for name, av := range want {
		checkAttr(t, path+"@"+name, av, name, get)
	}
}

func checkAttr(t *testing.T, key string, av attrView, name string, get func(string) (*Attribute, error)) {
	a, err := get(name)
	if av.Kind == "other" {
		if err == nil {
			_, err = a.Strings()
		}
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: want an ErrUnsupported error, got %v", key, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v", key, err)
		return
	}
	if !reflect.DeepEqual(a.Shape(), av.Shape) && len(a.Shape())+len(av.Shape) > 0 {
		t.Errorf("%s: shape %v, h5py %v", key, a.Shape(), av.Shape)
	}
	switch av.Kind {
	case "str":
		got, err := a.Strings()
		if err != nil {
			t.Errorf("%s: %v", key, err)
			return
		}
		if av.MD5 != "" {
			sum := md5.Sum([]byte(strings.Join(got, "\n")))
			if hex.EncodeToString(sum[:]) != av.MD5 || !reflect.DeepEqual(got[:3], av.Head) || !reflect.DeepEqual(got[len(got)-3:], av.Tail) {
				t.Errorf("%s: %d strings starting %q do not match h5py's (md5 %s)", key, len(got), got[:min(3, len(got))], av.MD5)
			}
			return
		}
		var want []string
		for _, v := range av.Values {
			var s string
			json.Unmarshal(v, &s)
			want = append(want, s)
		}
		if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%s: %q, h5py %q", key, got, want)
		}
	case "int":
		got, err := a.Int64s()
		var wantBig []string
		for _, v := range av.Values {
			wantBig = append(wantBig, string(v))
		}
		if err != nil { // only acceptable for uint64 values above MaxInt64
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s: %v", key, err)
			}
			return
		}
		var gotS []string
		for _, v := range got {
			gotS = append(gotS, jsonInt(v))
		}
		if !reflect.DeepEqual(gotS, wantBig) {
			t.Errorf("%s: %v, h5py %v", key, gotS, wantBig)
		}
	case "float":
		got, err := a.Float64s()
		if err != nil {
			t.Errorf("%s: %v", key, err)
			return
		}
		var want []float64
		for _, v := range av.Values {
			var x float64
			json.Unmarshal(v, &x)
			want = append(want, x)
		}
		if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%s: %v, h5py %v", key, got, want)
		}
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }

func checkDataset(t *testing.T, f *File, path string, dv datasetView, all map[string]datasetView) {
	d, err := f.Root().Dataset(path)
	if err != nil {
		t.Errorf("dataset %s: %v", path, err)
		return
	}
	if dv.SameAs != "" {
		dv = all[dv.SameAs]
	}
	if !reflect.DeepEqual(d.Shape(), dv.Shape) && len(d.Shape())+len(dv.Shape) > 0 {
		t.Errorf("%s: shape %v, h5py %v", path, d.Shape(), dv.Shape)
	}
	if d.Type() != dv.Dtype {
		t.Errorf("%s: type %s, h5py %s", path, d.Type(), dv.Dtype)
	}
	checkAttrs(t, path, dv.Attrs, d.AttrNames, d.Attr)
	if dv.Strings != nil {
		got, err := d.Strings()
		if err != nil || !reflect.DeepEqual(got, dv.Strings) {
			t.Errorf("%s: strings %q (%v), h5py %q", path, got, err, dv.Strings)
		}
		return
	}
	v, err := d.ReadFloat64()
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if dv.Values != nil && !reflect.DeepEqual(v, dv.Values) && len(v)+len(dv.Values) > 0 {
		t.Errorf("%s: values %v, h5py %v", path, v, dv.Values)
	}
	if len(v) < len(dv.First) || !reflect.DeepEqual(v[:len(dv.First)], dv.First) {
		t.Errorf("%s: first values %v, h5py %v", path, v[:min(len(v), len(dv.First))], dv.First)
	}
	var sum, maxAbs float64
	for _, x := range v {
		sum += x
		maxAbs = max(maxAbs, math.Abs(x))
	}
	if tol := 1e-9*max(1, math.Abs(dv.Sum)) + 1e-15*float64(len(v))*maxAbs; math.Abs(sum-dv.Sum) > tol {
		t.Errorf("%s: sum %v, h5py %v", path, sum, dv.Sum)
	}
	// float32 reads agree with float64 reads rounded.
	v32, err := d.ReadFloat32()
	if err != nil {
		t.Errorf("%s: ReadFloat32: %v", path, err)
		return
	}
	for i := range v32 {
		if v32[i] != float32(v[i]) {
			t.Errorf("%s[%d]: ReadFloat32 %v, ReadFloat64 %v", path, i, v32[i], v[i])
			break
		}
	}
}

// checkUnsupported: h5py found something we do not read; we must refuse it
// with an ErrUnsupported error that names the path.
func checkUnsupported(t *testing.T, f *File, path, what string) {
	d, err := f.Root().Dataset(path)
	if err == nil {
		_, err = d.ReadFloat32()
	}
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), path) {
		t.Errorf("%s (%s): want an ErrUnsupported error naming the path, got %v", path, what, err)
		return
	}
	t.Logf("refused as expected: %v", err)
}

// TestTruncated: a cut file gives ErrCorrupt errors, never a panic or success.
func TestTruncated(t *testing.T) {
	e := loadExpected(t)
	f, err := Open(filepath.Join("testdata/fixtures", e.Truncated.File))
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open: %v, want ErrCorrupt", err)
		}
		return
	}
	defer f.Close()
	errs := walkAll(f, 1<<20)
	if len(errs) == 0 {
		t.Fatal("walking a truncated file gave no error")
	}
	for _, err := range errs {
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("error %v does not wrap ErrCorrupt", err)
		}
	}
	t.Logf("first error: %v", errs[0])
}

// TestChunkIndexKinds checks that the libver='latest' fixture really uses
// every layout-4 chunk index, so TestFixtures exercises each of them.
func TestChunkIndexKinds(t *testing.T) {
	f, err := Open("testdata/fixtures/latest_chunked.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, want := range map[string]int{
		"single": idxSingle, "single_plain": idxSingle, "implicit": idxImplicit,
		"fixed": idxFixedArray, "fixed_plain": idxFixedArray, "fixed_paged": idxFixedArray,
		"earray": idxExtArray, "earray_plain": idxExtArray, "btree2": idxBTree2, "btree2_plain": idxBTree2,
	} {
		d, err := f.Root().Dataset(name)
		if err != nil {
			t.Fatal(err)
		}
		if d.layout.version != 4 || d.layout.index != want {
			t.Errorf("%s: layout version %d index %d, want 4 / %d", name, d.layout.version, d.layout.index, want)
		}
	}
}
