package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/internal/cmdtest"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// writePNG and savedModel are the shared command-test fixtures.
var (
	writePNG   = cmdtest.WritePNG
	savedModel = cmdtest.SavedModel
)

// TestPredictSavedModel: the printed top-k equals softmax(logits) of the
// network the folder was written from, computed here by hand.
func TestPredictSavedModel(t *testing.T) {
	dir, spec := savedModel(t)
	imgDir := t.TempDir()
	var paths []string
	for i := 0; i < 3; i++ {
		p := filepath.Join(imgDir, fmt.Sprintf("img %d.png", i)) // a space in the name, too
		writePNG(t, p, i)
		paths = append(paths, p)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"-model", dir, "-top", "3"}, paths...), &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	// Reference: rebuild the same weights (same seed) without any file.
	probs := referenceProbs(t, spec, paths)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3*4 {
		t.Fatalf("want 12 lines, got:\n%s", out.String())
	}
	for i := range paths {
		if lines[4*i] != paths[i] {
			t.Errorf("line %q, want the path %q", lines[4*i], paths[i])
		}
		row := probs[i]
		sum := 0.0
		for r := 0; r < 3; r++ {
			f := strings.Fields(lines[4*i+1+r])
			name := f[1]
			p, err := strconv.ParseFloat(f[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			idx := map[string]int{"ants": 0, "bees": 1, "wasps": 2}[name]
			if d := p - row[idx]; d > 6e-5 || d < -6e-5 {
				t.Errorf("image %d %s: printed %.4f, want %.6f", i, name, p, row[idx])
			}
			sum += p
		}
		if sum < 0.999 || sum > 1.001 {
			t.Errorf("image %d: probabilities sum to %g", i, sum)
		}
	}
}

func softmax64(z []float32) []float64 {
	m := z[0]
	for _, v := range z {
		m = max(m, v)
	}
	var s float64
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = expf(float64(v - m))
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// TestPredictBadInput: clear errors for a missing model, no images, a
// corrupt image among good ones (skipped and reported), and -weights files
// without a top.
func TestPredictBadInput(t *testing.T) {
	dir, _ := savedModel(t)
	good := filepath.Join(t.TempDir(), "good.png")
	writePNG(t, good, 1)
	corrupt := filepath.Join(t.TempDir(), "corrupt.jpg")
	os.WriteFile(corrupt, []byte("\xff\xd8\xff\xe0 this is not really a jpeg"), 0o644)

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-model", dir, good, corrupt}, &out, &errb); err != nil {
		t.Fatalf("a corrupt file among good ones must be skipped: %v", err)
	}
	if !strings.Contains(errb.String(), "skipping "+corrupt) || strings.Contains(out.String(), corrupt) {
		t.Errorf("corrupt file not reported/skipped:\nstdout %s\nstderr %s", out.String(), errb.String())
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-model", filepath.Join(dir, "missing"), good}, "model.json"},
		{[]string{"-model", dir}, "no image files"},
		{[]string{"-model", dir, corrupt}, "no readable image"},
		{[]string{good}, "exactly one of -model"},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		err := run(context.Background(), append([]string(nil), c.args...), &o, &e)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
	notop := filepath.Join(t.TempDir(), "notop.h5")
	m, err := vgg.New(vgg.Config{Depth: 16, Width: 0.0625, InputShape: [3]int{32, 32, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := vgg.SaveKerasWeights(m, notop); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if err := run(context.Background(), []string{"-weights", notop, good}, &o, &e); err == nil || !strings.Contains(err.Error(), "no classifier") {
		t.Errorf("-weights notop: error %v", err)
	}
}

var _ = tensor.New
