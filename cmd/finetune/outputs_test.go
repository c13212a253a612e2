package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shortArgs is a two-epoch run on data with tiny weights into out.
func shortArgs(data, weights, out string, extra ...string) []string {
	return append([]string{"-data", data, "-weights", weights, "-size", "32", "-epochs", "2",
		"-batch", "8", "-head", "8", "-seed", "4", "-out", out}, extra...)
}

// interrupt runs args and cancels after step 1 of epoch 1 (the second).
func interrupt(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &hooks{onStep: func(e, s int) {
		if e == 1 && s == 1 {
			cancel()
		}
	}}
	if so, se, code := runCmd(t, ctx, h, args...); code != 130 {
		t.Fatalf("interrupted run: exit %d, want 130\n%s\n%s", code, so, se)
	}
}

// TestResumeAloneAndDifferingFlags: `-resume -out DIR` alone continues with
// the saved flags (same history as an uninterrupted run); explicit flags
// that differ are refused, each named with both values.
func TestResumeAloneAndDifferingFlags(t *testing.T) {
	data := makeShapes(t, 10, 4)
	weights := tinyWeights(t, false)
	ref := filepath.Join(t.TempDir(), "ref")
	if so, se, code := runCmd(t, context.Background(), nil, shortArgs(data, weights, ref)...); code != 0 {
		t.Fatalf("reference: exit %d\n%s\n%s", code, so, se)
	}
	out := filepath.Join(t.TempDir(), "out")
	interrupt(t, shortArgs(data, weights, out)...)

	so, se, code := runCmd(t, context.Background(), nil, "-resume", "-out", out, "-lr", "0.01", "-batch", "4", "-seed", "4")
	if code != 2 {
		t.Fatalf("differing flags: exit %d, want 2\n%s\n%s", code, so, se)
	}
	for _, w := range []string{"-lr is 0.01 now but was 0.001", "-batch is 4 now but was 8"} {
		if !strings.Contains(se, w) {
			t.Errorf("refusal lacks %q:\n%s", w, se)
		}
	}
	if strings.Contains(se, "-seed") {
		t.Errorf("an equal flag was named as differing:\n%s", se)
	}

	so, se, code = runCmd(t, context.Background(), nil, "-resume", "-out", out)
	if code != 0 {
		t.Fatalf("-resume alone: exit %d\n%s\n%s", code, so, se)
	}
	if strings.Contains(so, "offline transfer-learning demo") || !strings.Contains(so, "Resuming from") {
		t.Fatalf("-resume alone did not continue the run:\n%s", so)
	}
	if _, se, code := runCmd(t, context.Background(), nil, "-resume", "-out", out); code != 1 || !strings.Contains(se, "completed") {
		t.Errorf("-resume of a completed run: exit %d, want 1 with a message saying it completed:\n%s", code, se)
	}
	a, b := readHistory(t, filepath.Join(ref, "history.csv")), readHistory(t, filepath.Join(out, "history.csv"))
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("history rows %d and %d, want 2", len(a), len(b))
	}
	for i := range a {
		for _, col := range []string{"loss", "accuracy", "val_loss", "val_accuracy"} {
			if a[i][col] != b[i][col] {
				t.Errorf("epoch %d %s: uninterrupted %v, resumed %v", i, col, a[i][col], b[i][col])
			}
		}
	}
}

// TestResumeRefusesChangedData: a file changed, one removed and one added
// since the checkpoint: the resume is refused naming all three, and the
// checkpoint stays usable.
func TestResumeRefusesChangedData(t *testing.T) {
	data := makeShapes(t, 10, 4)
	weights := tinyWeights(t, false)
	out := filepath.Join(t.TempDir(), "out")
	interrupt(t, shortArgs(data, weights, out)...)

	changed := filepath.Join(data, "train", "circles", "img3.png")
	b, _ := os.ReadFile(changed)
	if err := os.WriteFile(changed, append(b, 0), 0o644); err != nil { // PNG ignores trailing bytes
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(data, "train", "stripes", "img5.png")); err != nil {
		t.Fatal(err)
	}
	writeShape(t, filepath.Join(data, "validation", "stripes", "new.png"), 1, 77)
	so, se, code := runCmd(t, context.Background(), nil, "-resume", "-out", out)
	if code == 0 {
		t.Fatalf("resume on changed data accepted:\n%s", so)
	}
	for _, w := range []string{"data changed", "changed (size or modification time): " + filepath.Join("circles", "img3.png"),
		"removed: " + filepath.Join("stripes", "img5.png"), "added: " + filepath.Join("stripes", "new.png")} {
		if !strings.Contains(se, w) {
			t.Errorf("refusal lacks %q:\n%s", w, se)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint.gob")); err != nil {
		t.Errorf("the refused resume lost the checkpoint: %v", err)
	}
}

// TestCrashLeavesNoMix: run A completes in a folder; run B starts there
// and dies mid-training (a panic, as a kill would leave it). The folder then
// holds only run B's files, A's are in previous-run/, and a stale
// temporary file left by a dead write is removed at B's start.
func TestCrashLeavesNoMix(t *testing.T) {
	data := makeShapes(t, 10, 4)
	weights := tinyWeights(t, false)
	out := filepath.Join(t.TempDir(), "out")
	if so, se, code := runCmd(t, context.Background(), nil, shortArgs(data, weights, out)...); code != 0 {
		t.Fatalf("run A: exit %d\n%s\n%s", code, so, se)
	}
	aJSON, _ := os.ReadFile(filepath.Join(out, "model.json"))
	stale := filepath.Join(out, ".model.h5.tmp12345")
	if err := os.WriteFile(stale, []byte("half a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("run B did not crash")
			}
		}()
		h := &hooks{onStep: func(e, s int) {
			if e == 1 && s == 1 {
				panic("simulated crash")
			}
		}}
		var o, e bytes.Buffer
		run(context.Background(), shortArgs(data, weights, out, "-seed", "5"), &o, &e, h)
	}()
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale temporary file not removed")
	}
	for _, f := range []string{"model.h5", "model.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("%s of run A left beside run B's files", f)
		}
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if e.Name() == previousDir {
			continue
		}
		info, _ := e.Info()
		if info.ModTime().Before(start.Add(-time.Second)) {
			t.Errorf("%s predates run B", e.Name())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, previousDir, "model.json")); !bytes.Equal(b, aJSON) || len(b) == 0 {
		t.Error("run A's model.json not kept in previous-run/")
	}
	// B's checkpoint is usable: resuming finishes the run.
	if so, se, code := runCmd(t, context.Background(), nil, "-resume", "-out", out); code != 0 {
		t.Fatalf("resume after the crash: exit %d\n%s\n%s", code, so, se)
	}
}

// TestSplitFolders: val/ is recognised as the validation folder
// (torchvision's layout); without any validation folder a loud warning
// names the folder.
func TestSplitFolders(t *testing.T) {
	data := makeShapes(t, 6, 3)
	if err := os.Rename(filepath.Join(data, "validation"), filepath.Join(data, "val")); err != nil {
		t.Fatal(err)
	}
	weights := tinyWeights(t, false)
	so, se, code := runCmd(t, context.Background(), nil, shortArgs(data, weights, filepath.Join(t.TempDir(), "o"), "-epochs", "1")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, so, se)
	}
	if !strings.Contains(so, "Found 6 images belonging to 2 classes.") || !strings.Contains(so, "val_accuracy") {
		t.Errorf("val/ not used for validation:\n%s", so)
	}
	if err := os.RemoveAll(filepath.Join(data, "val")); err != nil {
		t.Fatal(err)
	}
	so, se, code = runCmd(t, context.Background(), nil, shortArgs(data, weights, filepath.Join(t.TempDir(), "o"), "-epochs", "1")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, so, se)
	}
	if !strings.Contains(so, "NO VALIDATION DATA") || !strings.Contains(se, "NO VALIDATION DATA") || !strings.Contains(so, data) {
		t.Errorf("no loud warning naming %s:\nstdout:\n%s\nstderr:\n%s", data, so, se)
	}
}

// TestCallbackFlags: -early-stopping, -reduce-lr, -class-weight,
// -optimizer and -monitor reach the run: balanced weights are printed, the
// lr column only ever holds lr·factor^k, and early stopping ends the stage
// no later than the patience allows after the best epoch.
func TestCallbackFlags(t *testing.T) {
	data := makeShapes(t, 10, 4)
	for i := 0; i < 4; i++ { // 14 circles, 10 stripes: balanced weights 24/28 and 24/20
		writeShape(t, filepath.Join(data, "train", "circles", fmt.Sprintf("extra%d.png", i)), 0, 500+i)
	}
	weights := tinyWeights(t, false)
	out := filepath.Join(t.TempDir(), "o")
	so, se, code := runCmd(t, context.Background(), nil, shortArgs(data, weights, out, "-epochs", "12", "-lr", "0.05",
		"-optimizer", "sgd", "-monitor", "val_loss", "-reduce-lr", "1,0.5", "-early-stopping", "2", "-class-weight", "balanced")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, so, se)
	}
	if !strings.Contains(so, "Class weights (balanced, N/(K·n_class)): circles 0.8571, stripes 1.2") {
		t.Errorf("class weights not reported:\n%s", so)
	}
	rows := readHistory(t, filepath.Join(out, "history.csv"))
	best, bestLoss := 0, rows[0]["val_loss"]
	for i, r := range rows {
		ok := false
		for k, lr := 0, 0.05; k < 20; k, lr = k+1, lr*0.5 {
			ok = ok || r["lr"] == lr
		}
		if !ok {
			t.Errorf("epoch %d lr %g is not 0.05·0.5^k", i, r["lr"])
		}
		if r["val_loss"] < bestLoss-1e-12 {
			best, bestLoss = i, r["val_loss"]
		}
	}
	if len(rows) < 12 && len(rows)-1 > best+2 {
		t.Errorf("stopped at epoch %d, best %d, patience 2", len(rows)-1, best)
	}
	if len(rows) < 12 && !strings.Contains(so, "early stopping") {
		t.Errorf("stopped early without saying so:\n%s", so)
	}
}

// TestHelpShowsRealDefaults: no placeholder defaults in -h.
func TestHelpShowsRealDefaults(t *testing.T) {
	_, se, code := runCmd(t, context.Background(), nil, "-h")
	if code != 0 {
		t.Fatalf("-h exit %d", code)
	}
	for _, bad := range []string{"(default -1)", `(default "default")`} {
		if strings.Contains(se, bad) {
			t.Errorf("-h shows %s:\n%s", bad, se)
		}
	}
	for _, want := range []string{"-width-multiplier", "deprecated name of -width-multiplier", "(default 224)", "-early-stopping", "-reduce-lr", "-class-weight", "-optimizer", "-brightness-range", "-channel-shift-range", "-decode-memory"} {
		if !strings.Contains(se, want) {
			t.Errorf("-h lacks %q", want)
		}
	}
	cfg, err := parseFlags([]string{"-augment", "-zoom", "0.1"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Shear != 0.2 || cfg.Zoom != 0.1 || !cfg.HFlip {
		t.Errorf("-augment -zoom 0.1: shear %g zoom %g hflip %v, want 0.2 0.1 true", cfg.Shear, cfg.Zoom, cfg.HFlip)
	}
	var stderr bytes.Buffer
	if cfg, err = parseFlags([]string{"-width", "0.5"}, &stderr); err != nil || cfg.Width != 0.5 || !strings.Contains(stderr.String(), "deprecated") {
		t.Errorf("-width 0.5: %v, width %g, %q", err, cfg.Width, stderr.String())
	}
}
