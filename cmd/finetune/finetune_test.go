package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

var epochLineRE = regexp.MustCompile(`(?m)^Epoch \d+/\d+ - \d+s - loss: \d+\.\d{4} - accuracy: [01]\.\d{4} - val_loss: \d+\.\d{4} - val_accuracy: [01]\.\d{4}$`)

// TestEndToEnd trains a tiny VGG16 (frozen random He-init base from a
// generated Keras weights file) plus head on generated circles-vs-stripes
// images and checks the output, the files and the reloaded model.
func TestEndToEnd(t *testing.T) {
	data := makeShapes(t, 24, 12)
	weights := tinyWeights(t, false)
	out := filepath.Join(t.TempDir(), "out")
	var final *nn.Model
	h := &hooks{onDone: func(m *nn.Model) { final = m }}
	stdout, stderr, code := runCmd(t, context.Background(), h,
		"-data", data, "-weights", weights, "-size", "32", "-epochs", "8", "-batch", "8",
		"-head", "32", "-lr", "3e-3", "-out", out, "-seed", "3",
		// bilinear: nearest (the default) aliases the 40 px stripes at 32 px.
		"-interpolation", "bilinear")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"Found 48 images belonging to 2 classes.",
		"Found 24 images belonging to 2 classes.",
		"Trainable params:", "Non-trainable params:",
		"Computing base features once (frozen layers up to global_average_pooling2d",
		"Best epoch:", "Confusion matrix", "Per-class accuracy:",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q\n%s", want, stdout)
		}
	}
	if n := len(epochLineRE.FindAllString(stdout, -1)); n != 8 {
		t.Errorf("found %d Keras epoch lines, want 8:\n%s", n, stdout)
	}
	for _, f := range []string{"model.h5", "model.json", "history.csv", "history.png", "best_model.h5"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint.gob")); err == nil {
		t.Error("checkpoint.gob left after a complete run")
	}
	hist := readHistory(t, filepath.Join(out, "history.csv"))
	if len(hist) != 8 {
		t.Fatalf("history.csv has %d rows, want 8", len(hist))
	}
	first, last := hist[0], hist[len(hist)-1]
	if !(last["loss"] < first["loss"]) {
		t.Errorf("training loss did not decrease: %g -> %g", first["loss"], last["loss"])
	}
	if last["val_accuracy"] < 0.75 {
		t.Errorf("final val_accuracy %g: not clearly above chance (0.5)", last["val_accuracy"])
	}
	if last["lr"] != 3e-3 || last["epoch"] != 7 {
		t.Errorf("history row %v: want lr 0.003, epoch 7", last)
	}

	// model.h5 + model.json reload to a network with identical predictions.
	spec, err := train.ReadSpec(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(spec.Classes, ","); got != "circles,stripes" {
		t.Errorf("model.json classes %q", got)
	}
	imgs, _ := filepath.Glob(filepath.Join(data, "validation", "*", "*.png"))
	x, kept, bad, err := train.LoadImages(context.Background(), spec, imgs)
	if err != nil || len(bad) != 0 || len(kept) != len(imgs) {
		t.Fatalf("LoadImages: %v, bad %v", err, bad)
	}
	want := train.Predict(final, x, true)
	got := train.Predict(loadModelDir(t, out, ""), x, true)
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("reloaded model.h5 predicts %g, trained model %g (element %d)", got.Data[i], want.Data[i], i)
		}
	}
}

// TestAugmentFrozenBaseKeepsNoGradients: with augmentation the whole
// network runs every step, but backward must stop at the head: the frozen
// convolutions never get a gradient.
func TestAugmentFrozenBaseKeepsNoGradients(t *testing.T) {
	data := makeShapes(t, 8, 4)
	weights := tinyWeights(t, false)
	var final *nn.Model
	var retained int64
	h := &hooks{onDone: func(m *nn.Model) { final = m }}
	h.onStep = func(int, int) {}
	stdout, stderr, code := runCmd(t, context.Background(), h,
		"-data", data, "-weights", weights, "-size", "32", "-epochs", "1", "-batch", "4",
		"-head", "8", "-augment", "-out", filepath.Join(t.TempDir(), "o"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "Computing ") {
		t.Error("features were cached although augmentation is on")
	}
	for _, l := range final.Layers() {
		for _, p := range l.Params() {
			frozen := vgg.IsBaseLayer(l.Name())
			if frozen && p.Grad != nil {
				t.Errorf("frozen %s has a gradient: backward ran through the base", p.Name)
			}
			if !frozen && p.Grad == nil {
				t.Errorf("head weight %s has no gradient", p.Name)
			}
		}
	}
	_ = retained
}

// TestResumeEqualsUninterrupted interrupts a run (augmentation with
// brightness and channel shifts, dropout, two stages) once in each stage and resumes it; history and weights must
// equal those of an uninterrupted run with the same seed, bit for bit.
func TestResumeEqualsUninterrupted(t *testing.T) {
	data := makeShapes(t, 12, 4)
	weights := tinyWeights(t, false)
	args := func(out string, extra ...string) []string {
		return append([]string{"-data", data, "-weights", weights, "-size", "32", "-epochs", "2",
			"-fine-tune-epochs", "1", "-fine-tune-from", "block5_conv1", "-fine-tune-lr", "1e-4",
			"-batch", "8", "-head", "16", "-dropout", "0.3", "-augment", "-brightness-range", "0.8,1.2", "-channel-shift-range", "10",
			"-seed", "5", "-out", out}, extra...)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if so, se, code := runCmd(t, context.Background(), nil, args(ref)...); code != 0 {
		t.Fatalf("reference run: exit %d\n%s\n%s", code, so, se)
	}
	out := filepath.Join(t.TempDir(), "resumed")
	interruptAt := func(epoch, step int) *hooks {
		ctx, cancel := context.WithCancel(context.Background())
		_ = ctx
		return &hooks{onStep: func(e, s int) {
			if e == epoch && s == step {
				cancel()
			}
		}}
	}
	// Run 1: stopped in stage 1 (epoch 1, after step 2 of 3).
	for i, at := range [][2]int{{0, 2}, {2, 1}} {
		ctx, cancel := context.WithCancel(context.Background())
		h := &hooks{onStep: func(e, s int) {
			if e == at[0] && s == at[1] {
				cancel()
			}
		}}
		extra := []string{}
		if i > 0 {
			extra = append(extra, "-resume")
		}
		so, se, code := runCmd(t, ctx, h, args(out, extra...)...)
		cancel()
		if code != 130 || !strings.Contains(so, "finetune -resume -out "+out) {
			t.Fatalf("interrupted run %d: exit %d, want 130\n%s\n%s", i, code, so, se)
		}
	}
	_ = interruptAt
	so, se, code := runCmd(t, context.Background(), nil, args(out, "-resume")...)
	if code != 0 {
		t.Fatalf("resumed run: exit %d\n%s\n%s", code, so, se)
	}
	if !strings.Contains(so, "Resuming from") {
		t.Errorf("no resume message:\n%s", so)
	}
	a, b := readHistory(t, filepath.Join(ref, "history.csv")), readHistory(t, filepath.Join(out, "history.csv"))
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("history rows: %d and %d, want 3", len(a), len(b))
	}
	for i := range a {
		for _, col := range []string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"} {
			if a[i][col] != b[i][col] {
				t.Errorf("epoch %d %s: uninterrupted %v, resumed %v", i, col, a[i][col], b[i][col])
			}
		}
	}
	for _, f := range []string{"model.h5", "best_model.h5"} {
		ma, mb := loadModelDir(t, ref, f), loadModelDir(t, out, f)
		pa, pb := ma.Params(), mb.Params()
		for i := range pa {
			if !bytes.Equal(f32bytes(pa[i].Value.Data), f32bytes(pb[i].Value.Data)) {
				t.Errorf("%s: weight %s differs between the uninterrupted and the resumed run", f, pa[i].Name)
			}
		}
	}
}

func f32bytes(v []float32) []byte {
	var b bytes.Buffer
	for _, x := range v {
		b.WriteString(strconvF(x))
	}
	return b.Bytes()
}

// TestFeatureCacheMatchesImages: training on cached features (stage 1 on
// the pooled base output, stage 2 on block4_pool's output) follows the same
// samples in the same order as training on images, so the histories agree
// up to float rounding of the frozen layers' forward pass.
func TestFeatureCacheMatchesImages(t *testing.T) {
	data := makeShapes(t, 10, 4)
	weights := tinyWeights(t, false)
	hist := func(cache string) ([]map[string]float64, string) {
		out := filepath.Join(t.TempDir(), "o")
		so, se, code := runCmd(t, context.Background(), nil, "-data", data, "-weights", weights, "-size", "32",
			"-epochs", "2", "-fine-tune-epochs", "2", "-fine-tune-from", "block5_conv1", "-fine-tune-lr", "1e-4",
			"-batch", "8", "-head", "16", "-seed", "9", "-cache-features="+cache, "-out", out)
		if code != 0 {
			t.Fatalf("cache=%s: exit %d\n%s\n%s", cache, code, so, se)
		}
		return readHistory(t, filepath.Join(out, "history.csv")), so
	}
	cached, so := hist("true")
	for _, w := range []string{"Computing base features once (frozen layers up to global_average_pooling2d",
		"Computing the frozen layers' output once (frozen layers up to block4_pool"} {
		if !strings.Contains(so, w) {
			t.Errorf("output lacks %q:\n%s", w, so)
		}
	}
	plain, so2 := hist("false")
	if strings.Contains(so2, "Computing ") {
		t.Errorf("-cache-features=false still cached")
	}
	for i := range plain {
		for _, col := range []string{"loss", "accuracy", "val_loss", "val_accuracy"} {
			a, b := cached[i][col], plain[i][col]
			if d := a - b; d > 1e-4 || d < -1e-4 {
				t.Errorf("epoch %d %s: cached %v, images %v", i, col, a, b)
			}
		}
	}
}
