package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/train"
)

// folderInput builds a tree with nested folders, a non-image file, an
// upper-case extension and a corrupt image, plus one loose file without an
// extension. It returns the arguments and the images predict must report,
// in order: the folder walked like sorted(os.walk()), then the loose file.
func folderInput(t *testing.T) (args, want []string, corrupt string) {
	root := filepath.Join(t.TempDir(), "imgs")
	for _, d := range []string{"a/sub", "b"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	writePNG(t, filepath.Join(root, "b", "2.png"), 2)
	writePNG(t, filepath.Join(root, "a", "1.png"), 1)
	writePNG(t, filepath.Join(root, "a", "sub", "3.PNG"), 3)
	os.WriteFile(filepath.Join(root, "a", "notes.txt"), []byte("not listed"), 0o644)
	corrupt = filepath.Join(root, "z.jpg")
	os.WriteFile(corrupt, []byte("\xff\xd8\xff\xe0 not a JPEG"), 0o644)
	loose := filepath.Join(t.TempDir(), "photo")
	writePNG(t, loose, 4)
	want = []string{filepath.Join(root, "a", "1.png"), filepath.Join(root, "a", "sub", "3.PNG"), filepath.Join(root, "b", "2.png"), loose}
	return []string{root, loose}, want, corrupt
}

// referenceProbs is softmax(logits) in float64 of the network the saved
// folder was written from, rebuilt with the same seed, for each path.
func referenceProbs(t *testing.T, spec *train.Spec, paths []string) [][]float64 {
	ref, _, err := train.Build(spec, 11)
	if err != nil {
		t.Fatal(err)
	}
	train.HeInitBase(ref, 11)
	x, _, _, err := train.LoadImages(context.Background(), spec, paths)
	if err != nil {
		t.Fatal(err)
	}
	logits := ref.Forward(x, false)
	k := logits.Shape[1]
	var out [][]float64
	for i := range paths {
		out = append(out, softmax64(logits.Data[i*k:(i+1)*k]))
	}
	return out
}

var classIndex = map[string]int{"ants": 0, "bees": 1, "wasps": 2}

// TestPredictFolderCSV: folders are walked, the corrupt file is named on
// stderr and left out, and each CSV row holds the top-2 classes with the
// probabilities of the reference network.
func TestPredictFolderCSV(t *testing.T) {
	dir, spec := savedModel(t)
	args, want, corrupt := folderInput(t)
	out := filepath.Join(t.TempDir(), "pred.csv")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append([]string{"-model", dir, "-top", "2", "-format", "csv", "-o", out}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "skipping "+corrupt) || stdout.Len() != 0 {
		t.Errorf("stderr %q, stdout %q", stderr.String(), stdout.String())
	}
	f, _ := os.Open(out)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs[0], []string{"path", "class_1", "prob_1", "class_2", "prob_2"}) || len(recs) != 1+len(want) {
		t.Fatalf("csv:\n%q", recs)
	}
	probs := referenceProbs(t, spec, want)
	for i, rec := range recs[1:] {
		if rec[0] != want[i] {
			t.Errorf("row %d: path %q, want %q", i, rec[0], want[i])
		}
		for r := 0; r < 2; r++ {
			p, err := strconv.ParseFloat(rec[2+2*r], 32)
			ref := probs[i][classIndex[rec[1+2*r]]]
			if err != nil || p-ref > 1e-6 || ref-p > 1e-6 {
				t.Errorf("row %d rank %d: %s %q, want %.7f", i, r+1, rec[1+2*r], rec[2+2*r], ref)
			}
		}
		if p1, _ := strconv.ParseFloat(rec[2], 64); p1 < probs[i][classIndex[rec[3]]] {
			t.Errorf("row %d: ranks out of order: %q", i, rec)
		}
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o644 {
		t.Errorf("-o mode %v", st.Mode().Perm())
	}
}

// TestPredictJSON: the JSON array parses and agrees with the reference.
func TestPredictJSON(t *testing.T) {
	dir, spec := savedModel(t)
	args, want, _ := folderInput(t)
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append([]string{"-model", dir, "-top", "5", "-format", "json"}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var got []struct {
		Path string `json:"path"`
		Top  []struct {
			Class string  `json:"class"`
			Index int     `json:"index"`
			Prob  float64 `json:"prob"`
		} `json:"top"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	probs := referenceProbs(t, spec, want)
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for i, g := range got {
		if g.Path != want[i] || len(g.Top) != 3 { // -top 5 of 3 classes
			t.Errorf("result %d: %+v", i, g)
			continue
		}
		for _, r := range g.Top {
			if classIndex[r.Class] != r.Index || r.Prob-probs[i][r.Index] > 1e-6 || probs[i][r.Index]-r.Prob > 1e-6 {
				t.Errorf("result %d: %+v, want %.7f", i, r, probs[i][r.Index])
			}
		}
	}
}

func TestPredictFormatErrors(t *testing.T) {
	dir, _ := savedModel(t)
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "readme.txt"), []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", dir, "-format", "xml", empty}, "-format"},
		{[]string{"-model", dir, empty}, "no image files"},
	} {
		err := run(context.Background(), c.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
