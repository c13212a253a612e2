package train

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), CheckpointName)
	c := &Checkpoint{Stage: "fine-tune", Epoch: 3, Step: 2, LossSum: 1.5, Params: map[string][]float32{"dense/kernel": {1, 2}}, Optimizer: []byte{9}}
	if err := SaveCheckpoint(p, c); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stage != "fine-tune" || got.Epoch != 3 || got.Step != 2 || got.Params["dense/kernel"][1] != 2 || got.Optimizer[0] != 9 {
		t.Errorf("round trip: %+v", got)
	}
	// Several weights, bit-exact, including values gob would shorten.
	vals := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -3.5, float32(math.Inf(1)), 123456.789, float32(math.NaN())}
	c.Params = map[string][]float32{"b/bias": vals, "a/kernel": make([]float32, 70000), "c/empty": {}}
	c.Params["a/kernel"][69999] = 7
	if err := SaveCheckpoint(p, c); err != nil {
		t.Fatal(err)
	}
	if got, err = LoadCheckpoint(p); err != nil {
		t.Fatal(err)
	}
	if len(got.Params) != 3 || len(got.Params["a/kernel"]) != 70000 || got.Params["a/kernel"][69999] != 7 || len(got.Params["c/empty"]) != 0 {
		t.Fatalf("weights: %d entries", len(got.Params))
	}
	for i, v := range vals {
		if math.Float32bits(got.Params["b/bias"][i]) != math.Float32bits(v) {
			t.Errorf("b/bias[%d] = %v, want %v (bit-exact)", i, got.Params["b/bias"][i], v)
		}
	}
	// A truncated file is refused.
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-10], 0o644)
	if _, err := LoadCheckpoint(p); err == nil {
		t.Error("truncated checkpoint accepted")
	}
}

// FuzzLoadCheckpoint: a damaged checkpoint is an error, never a panic.
func FuzzLoadCheckpoint(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "seed.gob")
	if err := SaveCheckpoint(p, &Checkpoint{Stage: "k", Params: map[string][]float32{"a/kernel": {1}}}); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(p)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), CheckpointName)
		os.WriteFile(p, b, 0o644)
		LoadCheckpoint(p)
	})
}
