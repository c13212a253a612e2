package vgg

import (
	"fmt"
	"math"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg/npy"
)

// The fixtures in testdata/ come from gen_reference.py: reduced-width
// (1/16) VGG weight files in Keras layouts and the outputs of an independent
// PyTorch (float64, NCHW, OIHW kernels) forward pass on img.npy.

const fixtureWidth = 1.0 / 16

// loadImages returns testdata/img.npy, two 64x48 RGB images, as float32 0..255.
func loadImages(t testing.TB) *tensor.Tensor {
	a, err := npy.ReadFile("testdata/img.npy")
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(a.Shape...)
	for i, v := range a.I64 {
		x.Data[i] = float32(v)
	}
	return x
}

func loadRef(t testing.TB, name string) *tensor.Tensor {
	a, err := npy.ReadFile("testdata/" + name + ".npy")
	if err != nil {
		t.Fatal(err)
	}
	return tensor.FromData(a.F32, a.Shape...)
}

// closeTo checks |got − ref| ≤ 1e-4·max|ref| + 1e-4 elementwise.
func closeTo(t testing.TB, what string, got, ref *tensor.Tensor) {
	t.Helper()
	if !got.Shape.Equal(ref.Shape) {
		t.Errorf("%s: shape %v, reference %v", what, got.Shape, ref.Shape)
		return
	}
	tol := 1e-4*tensor.MaxAbs(ref.Data) + 1e-4
	d, i := tensor.MaxAbsDiff(got.Data, ref.Data)
	if d > tol || math.IsNaN(d) {
		t.Errorf("%s: max |got-ref| = %.3g at %d (got %v, ref %v) > tol %.3g", what, d, i, got.Data[i], ref.Data[i], tol)
	} else {
		t.Logf("%s: max |got-ref| = %.3g (tol %.3g)", what, d, tol)
	}
}

// forwardUpTo runs m layer by layer, recording the outputs of the named layers.
func forwardTaps(m *nn.Model, x *tensor.Tensor) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for _, l := range m.Layers() {
		x = l.Forward(x, false)
		out[l.Name()] = x
	}
	return out
}

func TestReferenceVGG16TopKeras1File(t *testing.T) {
	m, err := New(Config{Depth: 16, IncludeTop: true, InputShape: [3]int{64, 48, 3}, Classes: 10, Width: fixtureWidth})
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadKerasWeights(m, "testdata/vgg16_top_w16_keras1.h5", LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	x := loadImages(t)
	if err := PreprocessInput(x); err != nil {
		t.Fatal(err)
	}
	taps := forwardTaps(m, x)
	for b := 1; b <= 5; b++ {
		name := fmt.Sprintf("block%d_pool", b)
		closeTo(t, name, taps[name], loadRef(t, "ref_vgg16_top_"+name))
	}
	for _, name := range []string{"fc1", "fc2", "predictions"} {
		closeTo(t, name, taps[name], loadRef(t, "ref_vgg16_top_"+name))
	}
	// the Model's own Forward agrees with the layer-by-layer run
	closeTo(t, "Model.Forward", m.Forward(x, false), loadRef(t, "ref_vgg16_top_predictions"))
}

// The tf.keras full-model save and the Keras 3 legacy save hold the same
// conv weights as the Keras 1 file: all three must give the reference.
func TestReferenceVGG16NotopLayouts(t *testing.T) {
	x := loadImages(t)
	PreprocessInput(x)
	for _, file := range []string{"vgg16_notop_w16_tfkeras.h5", "vgg16_notop_w16_keras3.h5", "vgg16_top_w16_keras1.h5",
		"vgg16_notop_w16_gzip.h5", "vgg16_notop_w16_gzip_latest.h5"} {
		for _, pooling := range []string{"none", "avg", "max"} {
			m, err := New(Config{Depth: 16, InputShape: [3]int{64, 48, 3}, Pooling: pooling, Width: fixtureWidth})
			if err != nil {
				t.Fatal(err)
			}
			// the include_top file has extra layers: they must be skipped explicitly
			opt := LoadOptions{IgnoreExtra: file == "vgg16_top_w16_keras1.h5"}
			if err := LoadKerasWeights(m, "testdata/"+file, opt); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := m.Forward(x, false)
			ref := map[string]string{"none": "ref_vgg16_top_block5_pool", "avg": "ref_vgg16_notop_avg", "max": "ref_vgg16_notop_max"}[pooling]
			closeTo(t, file+" pooling "+pooling, got, loadRef(t, ref))
		}
	}
}

func TestReferenceOtherDepths(t *testing.T) {
	x := loadImages(t)
	PreprocessInput(x)
	for _, depth := range []int{11, 13, 19} {
		file := fmt.Sprintf("testdata/vgg%d_notop_w16.h5", depth)
		wi, err := InspectKerasWeights(file)
		if err != nil {
			t.Fatal(err)
		}
		if wi.Depth != depth || wi.Width != fixtureWidth || wi.IncludeTop {
			t.Errorf("%s: inspected %+v", file, wi)
		}
		m, err := New(Config{Depth: depth, InputShape: [3]int{64, 48, 3}, Width: fixtureWidth})
		if err != nil {
			t.Fatal(err)
		}
		if err := LoadKerasWeights(m, file, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		closeTo(t, fmt.Sprintf("VGG%d block5_pool", depth), m.Forward(x, false), loadRef(t, fmt.Sprintf("ref_vgg%d_notop_block5_pool", depth)))
	}
}

// The Keras blog's fine-tuning model saved whole by tf.keras
// (Sequential([conv_base, Flatten(), Dense(8, relu), Dense(2, softmax)])):
// the nested "vgg16" group loads into our flat base + head.
func TestReferenceNestedModelSave(t *testing.T) {
	m, err := New(Config{Depth: 16, InputShape: [3]int{64, 48, 3}, Width: fixtureWidth})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []nn.Layer{nn.NewFlatten("flatten"), nn.NewDense("dense", 64, 8, true), NewSoftmaxDense("dense_1", 8, 2)} {
		if err := m.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := LoadKerasWeights(m, "testdata/nested_vgg16_head_w16_tfkeras.h5", LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	x := loadImages(t)
	PreprocessInput(x)
	closeTo(t, "nested save, head output", m.Forward(x, false), loadRef(t, "ref_nested_head_output"))
	wi, err := InspectKerasWeights("testdata/nested_vgg16_head_w16_tfkeras.h5")
	if err != nil || wi.Depth != 16 || wi.Width != fixtureWidth || wi.IncludeTop {
		t.Errorf("inspect nested file: %+v, %v", wi, err)
	}
}
