package train

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

func validSpec() *Spec {
	return &Spec{Format: SpecFormat, Architecture: "vgg16", Depth: 16, Width: 0.0625, InputShape: [3]int{32, 32, 3},
		Classes: []string{"a", "b"}, Head: HeadSpec{Pooling: "avg", Hidden: []int{4}, Dropout: 0.5, Logits: true},
		Preprocessing: Preprocessing{Mode: "caffe"}, Weights: WeightsName}
}

func TestSpecRoundTripAndValidate(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSpec(dir, validSpec()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSpec(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 0.0625 || got.Classes[1] != "b" || got.Head.Dropout != 0.5 || got.InputShape != [3]int{32, 32, 3} {
		t.Errorf("round trip: %+v", got)
	}
	bad := []func(s *Spec){
		func(s *Spec) { s.Format = "x" },
		func(s *Spec) { s.Depth = 15 },
		func(s *Spec) { s.Width = 0 },
		func(s *Spec) { s.InputShape = [3]int{31, 32, 3} },
		func(s *Spec) { s.InputShape = [3]int{32, 32, 1} },
		func(s *Spec) { s.Classes = []string{"one"} },
		func(s *Spec) { s.Head.Dropout = 1 },
		func(s *Spec) { s.Head.Pooling = "median" },
		func(s *Spec) { s.Preprocessing.Mode = "torch" },
		func(s *Spec) { s.Preprocessing = Preprocessing{Mode: "rescale"} },
	}
	for i, f := range bad {
		s := validSpec()
		f(s)
		if err := s.Validate(); err == nil {
			t.Errorf("case %d: invalid spec accepted: %+v", i, s)
		}
	}
}

// FuzzReadSpec: arbitrary model.json bytes give a spec or an error, never a panic.
func FuzzReadSpec(f *testing.F) {
	f.Add([]byte(`{"format":"gotransfer-model/1","depth":16,"width":1,"input_shape":[224,224,3],"classes":["a","b"],"head":{"pooling":"avg"},"preprocessing":{"mode":"caffe"}}`))
	f.Add([]byte(`{"depth":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, SpecName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if s, err := ReadSpec(dir); err == nil && s.Validate() != nil {
			t.Fatal("ReadSpec returned an invalid spec")
		}
	})
}

func TestStepDropout(t *testing.T) {
	d := NewStepDropout("dropout", 0.25)
	x := tensor.New(4, 1000)
	x.Fill(2)
	d.Reseed(42)
	y1 := d.Forward(x, true).Clone()
	d.Reseed(42)
	y2 := d.Forward(x, true)
	zeros := 0
	for i := range y1.Data {
		if y1.Data[i] != y2.Data[i] {
			t.Fatal("same seed, different masks")
		}
		switch y1.Data[i] {
		case 0:
			zeros++
		case 2 / 0.75:
		default:
			t.Fatalf("element %g: want 0 or x/(1-rate)", y1.Data[i])
		}
	}
	if frac := float64(zeros) / 4000; math.Abs(frac-0.25) > 0.03 {
		t.Errorf("dropped fraction %g, want ~0.25", frac)
	}
	// Backward passes dy through the same mask: dx = dy * y/x here.
	dy := tensor.New(4, 1000)
	dy.Fill(1)
	dx := d.Backward(dy)
	for i := range dx.Data {
		if want := y2.Data[i] / 2; dx.Data[i] != want {
			t.Fatalf("dx[%d] = %g, want %g", i, dx.Data[i], want)
		}
	}
	if y := d.Forward(x, false); y != x {
		t.Error("inference must be the identity")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := WriteFileAtomic(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("content %q", b)
	}
	// A failing writer leaves the old file and no temporary behind.
	err := WriteAtomic(p, func(f *os.File) error { f.WriteString("partial"); return os.ErrInvalid })
	if err == nil {
		t.Fatal("error swallowed")
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("failed write replaced the file: %q", b)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestTopK(t *testing.T) {
	r := TopK([]float32{0.1, 0.5, 0.1, 0.3}, 3)
	if len(r) != 3 || r[0].Index != 1 || r[1].Index != 3 || r[2].Index != 0 {
		t.Errorf("TopK: %+v", r)
	}
}

// TestBuildHeadFrom: Head.From cuts the base after the named layer and
// sizes the head for that layer's output (Flatten of block3_pool at 32x32
// and width 0.0625: 4·4·16 = 256 inputs to the first Dense).
func TestBuildHeadFrom(t *testing.T) {
	s := validSpec()
	s.Head.From, s.Head.Pooling = "block3_pool", "flatten"
	m, _, err := Build(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	ls := m.Layers()
	if i := FirstHeadLayer(m); ls[i-1].Name() != "block3_pool" || m.Index("block4_conv1") >= 0 {
		t.Fatalf("base not cut at block3_pool: last base layer %s", ls[i-1].Name())
	}
	if d := m.Layer("dense"); d == nil || d.Params()[0].Value.Shape[0] != 256 {
		t.Fatalf("first Dense kernel %v, want 256 inputs", d.Params()[0].Value.Shape)
	}
	if out := m.Forward(tensor.New(2, 32, 32, 3), false); out.Shape[0] != 2 || out.Shape[1] != 2 {
		t.Fatalf("output %v", out.Shape)
	}
	s.Head.From = "block9_pool"
	if _, _, err := Build(s, 1); err == nil || !strings.Contains(err.Error(), "block9_pool") {
		t.Fatalf("unknown From: err %v", err)
	}
	s.Head.From = "dense"
	if err := s.Validate(); err == nil {
		t.Fatal("Validate accepted head from a non-base layer")
	}
}
