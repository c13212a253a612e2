package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput: every bad input gets a clear message naming the problem, a
// non-zero exit status, and leaves the output folder untouched.
func TestBadInput(t *testing.T) {
	data := makeShapes(t, 4, 2)
	weights := tinyWeights(t, false)
	topWeights := tinyWeights(t, true) // include_top file for 32x32 inputs

	garbage := filepath.Join(t.TempDir(), "garbage.h5")
	os.WriteFile(garbage, []byte("this is not an HDF5 file at all, just some text padding it out"), 0o644)
	truncated := filepath.Join(t.TempDir(), "truncated.h5")
	full, _ := os.ReadFile(weights)
	os.WriteFile(truncated, full[:len(full)/2], 0o644)

	out := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(out, 0o755)
	sentinel := map[string]string{"model.json": "SENTINEL json", "model.h5": "SENTINEL h5", "history.csv": "SENTINEL csv"}
	for f, v := range sentinel {
		os.WriteFile(filepath.Join(out, f), []byte(v), 0o644)
	}
	common := []string{"-size", "32", "-epochs", "1", "-batch", "4", "-head", "8", "-out", out}
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"data missing", []string{"-data", filepath.Join(data, "nope"), "-weights", weights}, 1, "-data " + filepath.Join(data, "nope") + ": no such file or directory"},
		{"unreadable weights", []string{"-data", data, "-weights", garbage}, 1, "-weights " + garbage},
		{"truncated weights", []string{"-data", data, "-weights", truncated}, 1, "-weights " + truncated},
		{"missing weights", []string{"-data", data, "-weights", garbage + ".missing"}, 1, "no such file"},
		{"size below 32", []string{"-data", data, "-weights", weights, "-size", "31"}, 2, "at least 32 pixels"},
		{"size HxW below 32", []string{"-data", data, "-weights", weights, "-size", "64x16"}, 2, "at least 32 pixels"},
		{"size not fitting include_top", []string{"-data", data, "-weights", topWeights, "-size", "64"}, 1, "does not fit"},
		{"width not fitting weights", []string{"-data", data, "-weights", weights, "-width-multiplier", "0.25"}, 1, "-width-multiplier 0.25"},
		{"unknown fine-tune layer", []string{"-data", data, "-weights", weights, "-fine-tune-epochs", "1", "-fine-tune-from", "block9_conv1"}, 1, "block9_conv1"},
		{"resume without checkpoint", []string{"-data", data, "-weights", weights, "-resume"}, 1, "no checkpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// flags given later win, so the case's -size overrides common's
			args := append(append([]string(nil), common...), c.args...)
			stdout, stderr, code := runCmd(t, context.Background(), nil, args...)
			if code != c.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.wantCode, stdout, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, stderr)
			}
			{
				for f, v := range sentinel {
					if b, _ := os.ReadFile(filepath.Join(out, f)); string(b) != v {
						t.Errorf("%s was overwritten", f)
					}
				}
			}
		})
	}
}

// TestCorruptImagesSkipped: corrupt files among good ones are skipped,
// named in the output, and training still runs.
func TestCorruptImagesSkipped(t *testing.T) {
	data := makeShapes(t, 6, 2)
	bad := filepath.Join(data, "train", "circles", "zz_corrupt.png")
	os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\n not really"), 0o644)
	trunc := filepath.Join(data, "train", "stripes", "zz_truncated.png")
	good, _ := os.ReadFile(filepath.Join(data, "train", "stripes", "img0.png"))
	os.WriteFile(trunc, good[:len(good)/2], 0o644)
	stdout, stderr, code := runCmd(t, context.Background(), nil, "-data", data, "-weights", tinyWeights(t, false),
		"-size", "32", "-epochs", "1", "-batch", "4", "-head", "8", "-out", filepath.Join(t.TempDir(), "o"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	all := stdout + stderr
	for _, f := range []string{bad, trunc} {
		if !strings.Contains(all, f) {
			t.Errorf("skipped file %s not reported:\n%s", f, all)
		}
	}
}
