package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), checkpointName)
	c := &checkpoint{RunKey: "k", Stage: 1, Epoch: 3, Step: 2, LossSum: 1.5, Params: map[string][]float32{"dense/kernel": {1, 2}}, Optimizer: []byte{9}}
	if err := saveCheckpoint(p, c); err != nil {
		t.Fatal(err)
	}
	got, err := loadCheckpoint(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.RunKey != "k" || got.Epoch != 3 || got.Step != 2 || got.Params["dense/kernel"][1] != 2 || got.Optimizer[0] != 9 {
		t.Errorf("round trip: %+v", got)
	}
}

// FuzzLoadCheckpoint: a damaged checkpoint is an error, never a panic.
func FuzzLoadCheckpoint(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "seed.gob")
	if err := saveCheckpoint(p, &checkpoint{RunKey: "k", Params: map[string][]float32{"a/kernel": {1}}}); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(p)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), checkpointName)
		os.WriteFile(p, b, 0o644)
		loadCheckpoint(p)
	})
}
