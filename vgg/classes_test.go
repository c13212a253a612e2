package vgg

import (
	"math"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

func TestImageNetClassesAnchors(t *testing.T) {
	cls := ImageNetClasses()
	if len(cls) != 1000 {
		t.Fatalf("got %d classes, want 1000", len(cls))
	}
	anchors := map[int]Class{
		0:   {"n01440764", "tench"},
		1:   {"n01443537", "goldfish"},
		999: {"n15075141", "toilet tissue"},
	}
	for i, want := range anchors {
		if cls[i] != want {
			t.Errorf("class %d = %+v, want %+v", i, cls[i], want)
		}
	}
	seen := map[string]bool{}
	for i, c := range cls {
		if seen[c.ID] {
			t.Errorf("duplicate synset %s", c.ID)
		}
		seen[c.ID] = true
		if i > 0 && cls[i-1].ID >= c.ID {
			t.Errorf("classes not sorted by synset at %d: %s >= %s", i, cls[i-1].ID, c.ID)
		}
	}
	cls[0].Name = "changed"
	if ImageNetClasses()[0].Name != "tench" {
		t.Error("ImageNetClasses returned shared storage")
	}
}

func TestDecodePredictions(t *testing.T) {
	p := make([]float32, 1000)
	p[999], p[0], p[5] = 0.5, 0.3, 0.2
	got, err := DecodePredictions(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 999 || got[0].Name != "toilet tissue" || got[1].Index != 0 || got[1].Prob != 0.3 {
		t.Errorf("got %+v", got)
	}
	if _, err := DecodePredictions(p[:10], 1); err == nil {
		t.Error("10 probabilities accepted")
	}
}

func TestPreprocessInputCaffe(t *testing.T) {
	// one 1x2 RGB image: pixel (255, 0, 10) and (1, 2, 3)
	x := tensor.FromData([]float32{255, 0, 10, 1, 2, 3}, 1, 1, 2, 3)
	if err := PreprocessInput(x); err != nil {
		t.Fatal(err)
	}
	// Keras caffe mode: BGR order, minus [103.939, 116.779, 123.68]
	want := []float32{10 - 103.939, 0 - 116.779, 255 - 123.68, 3 - 103.939, 2 - 116.779, 1 - 123.68}
	for i := range want {
		if math.Abs(float64(x.Data[i]-want[i])) > 1e-5 {
			t.Errorf("element %d = %v, want %v", i, x.Data[i], want[i])
		}
	}
	if err := PreprocessInput(tensor.New(1, 2, 2, 4)); err == nil {
		t.Error("4-channel input accepted")
	}
}
