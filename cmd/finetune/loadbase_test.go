package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// TestLoadBaseWarnsNonFinite: a base weight holding NaN is reported on
// stderr, naming the layer, also from an include_top file, whose ignored
// top layers are not reported.
func TestLoadBaseWarnsNonFinite(t *testing.T) {
	top, err := vgg.New(vgg.Config{Depth: 16, Width: tinyWidth, InputShape: [3]int{32, 32, 3}, IncludeTop: true, Classes: 1000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	train.HeInitBase(top, 7)
	top.Layer("block2_conv1").Params()[0].Value.Data[3] = float32(math.NaN())
	weights := filepath.Join(t.TempDir(), "nan_top.h5")
	if err := vgg.SaveKerasWeights(top, weights); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"-data", t.TempDir(), "-weights", weights, "-size", "32", "-head", "8"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := &model{cfg: cfg, classes: []string{"a", "b"}, width: tinyWidth, weightsPath: weights}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	err = m.build()
	os.Stderr = stderr
	w.Close()
	out, _ := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); !strings.Contains(got, `layer "block2_conv1": weight block2_conv1/kernel:0 holds 1 NaN`) || strings.Contains(got, "skipping") {
		t.Errorf("stderr %q: want the NaN warning of block2_conv1 and no skipped-layer lines", got)
	}
}

// TestLoadBaseRefusesMissingLayer: an include_top file's extra layers are
// ignored, but a base layer the file lacks is an error naming it, not a
// layer silently left at its random initialisation.
func TestLoadBaseRefusesMissingLayer(t *testing.T) {
	top, err := vgg.New(vgg.Config{Depth: 11, Width: tinyWidth, InputShape: [3]int{32, 32, 3}, IncludeTop: true, Classes: 1000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(t.TempDir(), "vgg11_top.h5")
	if err := vgg.SaveKerasWeights(top, weights); err != nil {
		t.Fatal(err)
	}
	m16, err := vgg.New(vgg.Config{Depth: 16, Width: tinyWidth, InputShape: [3]int{32, 32, 3}, Pooling: "avg", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = loadBase(m16, weights)
	if err == nil || !strings.Contains(err.Error(), "block1_conv2") {
		t.Fatalf("VGG11 weights into a VGG16 base: got %v, want an error naming block1_conv2", err)
	}
}
