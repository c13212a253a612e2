package vgg

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

func smallNotop(t testing.TB) *nn.Model {
	m, err := New(Config{Depth: 16, InputShape: [3]int{64, 48, 3}, Width: fixtureWidth})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// snapshot copies every parameter value.
func snapshot(m *nn.Model) [][]float32 {
	var s [][]float32
	for _, p := range m.Params() {
		s = append(s, append([]float32(nil), p.Value.Data...))
	}
	return s
}

func sameParams(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !tensorEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func tensorEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoadWrongShape(t *testing.T) {
	m := smallNotop(t)
	before := snapshot(m)
	err := LoadKerasWeights(m, "testdata/vgg16_notop_w16_wrongshape.h5", LoadOptions{})
	if err == nil {
		t.Fatal("wrong-shape file accepted")
	}
	for _, want := range []string{"block3_conv2", "(3, 3, 16, 16)", "(3, 3, 16, 17)", "vgg16_notop_w16_wrongshape.h5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if !sameParams(before, snapshot(m)) {
		t.Error("failed load modified the model")
	}
	// SkipMismatch: every other layer loads, block3_conv2 keeps its weights
	var warn bytes.Buffer
	if err := LoadKerasWeights(m, "testdata/vgg16_notop_w16_wrongshape.h5", LoadOptions{SkipMismatch: true, Warnings: &warn}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "block3_conv2") {
		t.Errorf("no warning for block3_conv2: %q", warn.String())
	}
	ref := smallNotop(t)
	if err := LoadKerasWeights(ref, "testdata/vgg16_notop_w16_tfkeras.h5", LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"block1_conv1", "block3_conv1", "block3_conv3", "block5_conv3"} {
		if !tensorEqual(m.Layer(name).Params()[0].Value.Data, ref.Layer(name).Params()[0].Value.Data) {
			t.Errorf("%s not loaded under SkipMismatch", name)
		}
	}
	for i, p := range m.Params() {
		if strings.HasPrefix(p.Name, "block3_conv2/") && !tensorEqual(p.Value.Data, before[i]) {
			t.Errorf("skipped weight %s was modified", p.Name)
		}
	}
}

func TestLoadTruncatedRefused(t *testing.T) {
	m := smallNotop(t)
	before := snapshot(m)
	err := LoadKerasWeights(m, "testdata/vgg16_notop_w16_truncated.h5", LoadOptions{})
	if err == nil {
		t.Fatal("truncated file accepted")
	}
	t.Log(err)
	if !sameParams(before, snapshot(m)) {
		t.Error("failed load modified the model")
	}
}

func TestLoadMissingAndExtraLayers(t *testing.T) {
	// include_top model from a notop file: fc1, fc2, predictions missing
	top, err := New(Config{Depth: 16, IncludeTop: true, InputShape: [3]int{64, 48, 3}, Classes: 10, Width: fixtureWidth})
	if err != nil {
		t.Fatal(err)
	}
	err = LoadKerasWeights(top, "testdata/vgg16_notop_w16_keras3.h5", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), `"fc1"`) || !strings.Contains(err.Error(), "none in the file") {
		t.Errorf("missing layers: %v", err)
	}
	if err := LoadKerasWeights(top, "testdata/vgg16_notop_w16_keras3.h5", LoadOptions{SkipMismatch: true}); err != nil {
		t.Errorf("SkipMismatch: %v", err)
	}
	// notop model from an include_top file: fc1, fc2, predictions extra
	m := smallNotop(t)
	err = LoadKerasWeights(m, "testdata/vgg16_top_w16_keras1.h5", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), `"predictions"`) || !strings.Contains(err.Error(), "not in the model") {
		t.Errorf("extra layers: %v", err)
	}
	// IgnoreExtra: the base loads from the include_top file
	if err := LoadKerasWeights(m, "testdata/vgg16_top_w16_keras1.h5", LoadOptions{IgnoreExtra: true}); err != nil {
		t.Errorf("IgnoreExtra: %v", err)
	}
	// VGG19 file into VGG16: block3_conv4 ... extra
	err = LoadKerasWeights(m, "testdata/vgg19_notop_w16.h5", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "block5_conv4") {
		t.Errorf("VGG19 into VGG16: %v", err)
	}
	// not an HDF5 file at all
	bad := filepath.Join(t.TempDir(), "bad.h5")
	os.WriteFile(bad, []byte("definitely not hdf5"), 0o644)
	if err := LoadKerasWeights(m, bad, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "bad.h5") {
		t.Errorf("garbage file: %v", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, top := range []bool{false, true} {
		cfg := Config{Depth: 16, IncludeTop: top, InputShape: [3]int{64, 48, 3}, Classes: 10, Width: fixtureWidth, Seed: 7}
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		// non-zero biases too
		rng := tensor.NewRNG(3)
		for _, p := range a.Params() {
			tensor.Uniform(p.Value, -1, 1, rng)
		}
		path := filepath.Join(t.TempDir(), "w.h5")
		if err := SaveKerasWeights(a, path); err != nil {
			t.Fatal(err)
		}
		cfg.Seed = 99
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if sameParams(snapshot(a), snapshot(b)) {
			t.Fatal("differently seeded models are equal")
		}
		if err := LoadKerasWeights(b, path, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		if !sameParams(snapshot(a), snapshot(b)) {
			t.Errorf("top=%v: round trip changed weights", top)
		}
		wi, err := InspectKerasWeights(path)
		if err != nil || wi.Depth != 16 || wi.Width != fixtureWidth || wi.IncludeTop != top || (top && wi.Classes != 10) {
			t.Errorf("inspect saved file: %+v %v", wi, err)
		}
	}
}

func TestInspectKerasWeights(t *testing.T) {
	wi, err := InspectKerasWeights("testdata/vgg16_top_w16_keras1.h5")
	if err != nil {
		t.Fatal(err)
	}
	want := WeightsInfo{Depth: 16, Width: fixtureWidth, Channels: [5]int{4, 8, 16, 32, 32}, IncludeTop: true, TopChannels: 256, Classes: 10}
	// fc1 input 2*1*32 = 64 cells is not a square input: InputHW 0
	if wi != want {
		t.Errorf("got %+v, want %+v", wi, want)
	}
	w, err := InferWidth("testdata/vgg16_notop_w16_keras3.h5")
	if err != nil || w != fixtureWidth {
		t.Errorf("InferWidth = %v, %v", w, err)
	}
}

// FuzzLoadKerasWeights feeds mutated weight files to the loader: it must
// return an error or load, never panic or hang. Seeds are small (Go's fuzzer
// slows to a crawl on inputs of hundreds of KB): a 1-channel VGG11 saved by
// our writer, and the same weights in h5py's Keras 1 layout.
func FuzzLoadKerasWeights(f *testing.F) {
	cfg := Config{Depth: 11, InputShape: [3]int{32, 32, 3}, Channels: [5]int{1, 1, 1, 1, 1}}
	m, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "seed.h5")
	if err := SaveKerasWeights(m, path); err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{path, "testdata/tiny_vgg11_keras1.h5"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// must return (nil or an error), never panic
		_ = LoadKerasWeightsFrom(m, bytes.NewReader(b), int64(len(b)), "fuzz.h5", LoadOptions{SkipMismatch: len(b)%2 == 0})
	})
}

var h5pyOut = flag.String("h5py-out", "", "also write TestSaveForH5py's file here (for testdata/check_h5py.py)")

// TestSaveForH5py saves the include_top fixture's weights with our writer.
// testdata/check_h5py.py then checks with h5py that names, shapes and values
// match the original (run by CI; see that script).
func TestSaveForH5py(t *testing.T) {
	m, err := New(Config{Depth: 16, IncludeTop: true, InputShape: [3]int{64, 48, 3}, Classes: 10, Width: fixtureWidth})
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadKerasWeights(m, "testdata/vgg16_top_w16_keras1.h5", LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	out := *h5pyOut
	if out == "" {
		out = filepath.Join(t.TempDir(), "saved.h5")
	}
	if err := SaveKerasWeights(m, out); err != nil {
		t.Fatal(err)
	}
	back, _ := New(Config{Depth: 16, IncludeTop: true, InputShape: [3]int{64, 48, 3}, Classes: 10, Width: fixtureWidth, Seed: 5})
	if err := LoadKerasWeights(back, out, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if !sameParams(snapshot(m), snapshot(back)) {
		t.Error("saved weights differ when read back")
	}
}
