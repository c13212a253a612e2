package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// TestPredictIncludeTop: -weights FILE with a (tiny, generated) Keras
// include_top file prints ImageNet class names with the probabilities of
// the softmax "predictions" layer of the same network built in memory.
func TestPredictIncludeTop(t *testing.T) {
	m, err := vgg.New(vgg.Config{Depth: 16, Width: 0.0625, InputShape: [3]int{32, 32, 3}, IncludeTop: true, Classes: 1000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Larger random weights so the 1000-way softmax is not flat.
	rng := tensor.NewRNG(5)
	for _, p := range m.Params() {
		if len(p.Value.Shape) > 1 {
			tensor.HeNormal(p.Value, rng)
		}
	}
	path := filepath.Join(t.TempDir(), "tiny_top.h5")
	if err := vgg.SaveKerasWeights(m, path); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "x.png")
	writePNG(t, img, 2)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-weights", path, "-top", "3", img}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	spec := &train.Spec{InputShape: [3]int{32, 32, 3}, Preprocessing: train.Preprocessing{Mode: "caffe", Interpolation: "bilinear"}}
	x, _, _, err := train.LoadImages(context.Background(), spec, []string{img})
	if err != nil {
		t.Fatal(err)
	}
	probs := m.Forward(x, false).Data
	top := train.TopK(probs, 3)
	classes := vgg.ImageNetClasses()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("output:\n%s", out.String())
	}
	for r, want := range top {
		line := lines[1+r]
		if !strings.Contains(line, classes[want.Index].Name) {
			t.Errorf("rank %d: %q, want class %q", r+1, line, classes[want.Index].Name)
		}
		f := strings.Fields(line)
		p, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil || p-float64(want.Prob) > 6e-5 || float64(want.Prob)-p > 6e-5 {
			t.Errorf("rank %d: printed %q, want probability %.6f", r+1, line, want.Prob)
		}
	}
	// A -weights file whose top was built for 32x32 inputs cannot take 224 images: the
	// input size comes from fc1, so predict resizes to 32 (checked above).
}
