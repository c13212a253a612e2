package vgg

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

func layerNames(m *nn.Model) []string {
	var s []string
	for _, l := range m.Layers() {
		s = append(s, l.Name())
	}
	return s
}

// Keras's published parameter counts (keras.io/api/applications, model.summary()).
func TestParamCountsMatchKeras(t *testing.T) {
	for _, c := range []struct {
		depth int
		top   bool
		want  int
	}{
		{16, false, 14_714_688}, {19, false, 20_024_384},
	} {
		m, err := New(Config{Depth: c.depth, IncludeTop: c.top})
		if err != nil {
			t.Fatal(err)
		}
		tr, non := m.CountParams()
		if tr+non != c.want || non != 0 {
			t.Errorf("VGG%d top=%v: %d+%d params, want %d", c.depth, c.top, tr, non, c.want)
		}
	}
}

func TestKerasLayerNames(t *testing.T) {
	m, err := New(Config{Depth: 16, IncludeTop: true, InputShape: [3]int{32, 32, 3}, Width: fixtureWidth})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(`block1_conv1 block1_conv2 block1_pool block2_conv1 block2_conv2 block2_pool
		block3_conv1 block3_conv2 block3_conv3 block3_pool block4_conv1 block4_conv2 block4_conv3 block4_pool
		block5_conv1 block5_conv2 block5_conv3 block5_pool flatten fc1 fc2 predictions`)
	if got := layerNames(m); !reflect.DeepEqual(got, want) {
		t.Errorf("names %v", got)
	}
	if ty := m.Layer("predictions").Type(); ty != "Dense" {
		t.Errorf("predictions type %s", ty)
	}
	for pooling, name := range map[string]string{"avg": "global_average_pooling2d", "max": "global_max_pooling2d"} {
		m, err := New(Config{Pooling: pooling, InputShape: [3]int{40, 33, 3}, Width: fixtureWidth})
		if err != nil {
			t.Fatal(err)
		}
		names := layerNames(m)
		if names[len(names)-1] != name {
			t.Errorf("pooling %s: last layer %s", pooling, names[len(names)-1])
		}
		// 40x33 -> 20x16 -> 10x8 -> 5x4 -> 2x2 -> 1x1, then pooled to (N, 32)
		if s := m.OutputShape(2); !s.Equal(tensor.Shape{2, 32}) {
			t.Errorf("pooling %s: output %v", pooling, s)
		}
	}
	m, _ = New(Config{Depth: 11, InputShape: [3]int{40, 33, 3}})
	if s := m.OutputShape(1); !s.Equal(tensor.Shape{1, 1, 1, 512}) {
		t.Errorf("VGG11 at 40x33: output %v", s)
	}
	if n := len(m.Layers()); n != 8+5 {
		t.Errorf("VGG11 has %d layers", n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Depth: 15}, "Depth 15"},
		{Config{InputShape: [3]int{31, 64, 3}}, "at least 32"},
		{Config{InputShape: [3]int{64, 64, 1}}, "3 channels"},
		{Config{Width: -1}, "Width"},
		{Config{Width: math.NaN()}, "Width"},
		{Config{Pooling: "mean"}, `Pooling "mean"`},
		{Config{IncludeTop: true, Pooling: "avg"}, "only without the top"},
		{Config{IncludeTop: true, Classes: -3}, "Classes"},
		{Config{IncludeTop: true, ImageNet: true, InputShape: [3]int{150, 150, 3}}, "224x224"},
		{Config{IncludeTop: true, ImageNet: true, Classes: 2}, "1000"},
		{Config{ImageNet: true, Width: 0.5}, "full-width"},
		{Config{Channels: [5]int{4, 0, 8, 8, 8}}, "Channels"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to mention %q", c.cfg, err, c.want)
		}
	}
	// Keras allows any size >= 32 without the top, and without ImageNet weights even with it
	if _, err := New(Config{ImageNet: true, InputShape: [3]int{150, 97, 3}}); err != nil {
		t.Error(err)
	}
	if _, err := New(Config{IncludeTop: true, InputShape: [3]int{64, 64, 3}, Classes: 2, Width: 0.25}); err != nil {
		t.Error(err)
	}
	if Scale(64, 0.3) != 19 || Scale(64, 0.001) != 1 || Scale(512, 1) != 512 {
		t.Error("Scale")
	}
}

func TestFreezeHelpers(t *testing.T) {
	m, err := New(Config{IncludeTop: true, InputShape: [3]int{32, 32, 3}, Width: fixtureWidth, Classes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := FreezeBase(m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers() {
		if l.Trainable() == IsBaseLayer(l.Name()) {
			t.Errorf("after FreezeBase %s trainable=%v", l.Name(), l.Trainable())
		}
	}
	if err := UnfreezeFrom(m, "block5_conv1"); err != nil {
		t.Fatal(err)
	}
	i5 := m.Index("block5_conv1")
	for i, l := range m.Layers() {
		if l.Trainable() != (i >= i5) {
			t.Errorf("after UnfreezeFrom %s trainable=%v", l.Name(), l.Trainable())
		}
	}
	tr, non := m.CountParams()
	if tr == 0 || non == 0 {
		t.Errorf("counts %d/%d", tr, non)
	}
	if err := UnfreezeFrom(m, "block9_conv1"); err == nil {
		t.Error("unknown layer accepted")
	}
	head, _ := nn.NewModel("head", tensor.Shape{4}, nn.NewDense("d", 4, 2, false))
	if err := FreezeBase(head); err == nil {
		t.Error("FreezeBase on a model without a base succeeded")
	}
}

// SoftmaxDense's backward against central finite differences of
// L = Σ w ⊙ softmax(x·K + b) for fixed random w.
func TestSoftmaxDenseGradient(t *testing.T) {
	rng := tensor.NewRNG(5)
	l := NewSoftmaxDense("predictions", 4, 3)
	tensor.Uniform(l.Kernel.Value, -1, 1, rng)
	tensor.Uniform(l.Bias.Value, -1, 1, rng)
	x := tensor.New(2, 4)
	tensor.Uniform(x, -1, 1, rng)
	w := tensor.New(2, 3)
	tensor.Uniform(w, -1, 1, rng)
	loss := func() float64 {
		y := l.Forward(x, false)
		var s float64
		for i := range y.Data {
			s += float64(y.Data[i] * w.Data[i])
		}
		return s
	}
	y := l.Forward(x, true)
	var sum float64
	for _, v := range y.Data[:3] {
		sum += float64(v)
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("softmax row sums to %v", sum)
	}
	dx := l.Backward(w)
	check := func(name string, v []float32, g []float32) {
		for i := range v {
			old := v[i]
			const h = 1e-2
			v[i] = old + h
			lp := loss()
			v[i] = old - h
			lm := loss()
			v[i] = old
			num := (lp - lm) / (2 * h)
			if math.Abs(num-float64(g[i])) > 2e-3 {
				t.Errorf("%s[%d]: analytic %v, numeric %v", name, i, g[i], num)
			}
		}
	}
	check("x", x.Data, dx.Data)
	check("kernel", l.Kernel.Value.Data, l.Kernel.Grad.Data)
	check("bias", l.Bias.Value.Data, l.Bias.Grad.Data)
}

// Full-size networks: Keras's 138,357,544-parameter VGG16 with top, and the
// 14.7M base loaded from (1) a generated full-size Keras-layout file written
// by SaveKerasWeights and (2) the real trained base in /work/shared, checked
// against PyTorch's pooled block5_pool features on a 224x224 image.
func TestFullSizeVGG16(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size VGG16 (550 MB of weights) skipped in -short mode")
	}
	top, err := New(Config{Depth: 16, IncludeTop: true, ImageNet: true})
	if err != nil {
		t.Fatal(err)
	}
	if macs := convMACs(top); macs != 15_346_630_656 {
		t.Errorf("VGG16 conv multiply-adds at 224: %.0f", macs)
	}
	if tr, non := top.CountParams(); tr+non != 138_357_544 {
		t.Errorf("VGG16 with top: %d params, want 138,357,544", tr+non)
	}
	if s := top.OutputShape(1); !s.Equal(tensor.Shape{1, 1000}) {
		t.Errorf("top output %v", s)
	}
	top = nil

	gen, err := New(Config{Depth: 16, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vgg16_generated_notop.h5")
	if err := SaveKerasWeights(gen, path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() < 14_714_688*4 {
		t.Errorf("generated file is only %d bytes", st.Size())
	}
	base, err := New(Config{Depth: 16, Pooling: "avg", ImageNet: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadKerasWeights(base, path, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, p := range base.Params() {
		if !tensorEqual(p.Value.Data, gen.Params()[i].Value.Data) {
			t.Fatalf("full-size round trip differs at %s", p.Name)
		}
	}

	shared := "../../shared/weights/vgg16_imagenette_notop.h5"
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("real weights %s absent (%v): skipping the real-weights forward pass", shared, err)
	}
	if w, err := InferWidth(shared); err != nil || w != 1 {
		t.Fatalf("InferWidth(%s) = %v, %v", shared, w, err)
	}
	x := formulaImage224()
	PreprocessInput(x)
	for _, pooling := range []string{"avg", "max"} {
		m, err := New(Config{Depth: 16, Pooling: pooling, ImageNet: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := LoadKerasWeights(m, shared, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		y := m.Forward(x, false)
		for i, v := range y.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("output %d is %v", i, v)
			}
		}
		closeTo(t, fmt.Sprintf("real VGG16 base at 224, %s pooled", pooling), y, loadRef(t, "ref_shared_notop_224_"+pooling))
	}
}

// formulaImage224 is gen_reference.py's 224x224 test image:
// R = (3x+5y) mod 256, G = x·y mod 256, B = 2·(x XOR y) mod 256.
func formulaImage224() *tensor.Tensor {
	x := tensor.New(1, 224, 224, 3)
	for y := 0; y < 224; y++ {
		for c := 0; c < 224; c++ {
			p := x.Data[(y*224+c)*3:]
			p[0] = float32((3*c + 5*y) % 256)
			p[1] = float32((c * y) % 256)
			p[2] = float32(((c ^ y) * 2) % 256)
		}
	}
	return x
}
