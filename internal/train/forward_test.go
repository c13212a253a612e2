package train

import (
	"path/filepath"
	"testing"

	pub "github.com/gotransfer/gotransfer/train"
)

// TestForwarding: a model saved through the old names reloads through the
// public package and back, with the same spec.
func TestForwarding(t *testing.T) {
	s := &Spec{Format: SpecFormat, Architecture: "vgg16", Depth: 16, Width: 0.0625, InputShape: [3]int{32, 32, 3},
		Classes: []string{"a", "b"}, Head: HeadSpec{Pooling: "avg", Hidden: []int{4}, Logits: true},
		Preprocessing: Preprocessing{Mode: "caffe"}, Weights: WeightsName}
	m, _, err := Build(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pub.Save(dir, m, s); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSaved(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Classes[1] != "b" || filepath.Base(got.Spec.Weights) != WeightsName {
		t.Fatalf("spec %+v", got.Spec)
	}
	a, b := m.Params(), got.Net.Params()
	for i := range a {
		for j := range a[i].Value.Data {
			if a[i].Value.Data[j] != b[i].Value.Data[j] {
				t.Fatalf("%s[%d] differs after the round trip", a[i].Name, j)
			}
		}
	}
}
