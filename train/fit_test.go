package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/optim"
	"github.com/gotransfer/gotransfer/tensor"
)

// blobs returns n samples of 6 features in 3 classes: class c has mean
// 1.5·e_c plus Gaussian noise, so a small MLP learns it within epochs.
func blobs(n int, seed uint64) (*tensor.Tensor, []int) {
	rng := tensor.NewRNG(seed)
	x := tensor.New(n, 6)
	y := make([]int, n)
	for i := range y {
		y[i] = i % 3
		for j := 0; j < 6; j++ {
			x.Data[i*6+j] = float32(rng.NormFloat64())
		}
		x.Data[i*6+y[i]] += 1.5
	}
	return x, y
}

// mlp is Dense(6→16, relu) → StepDropout(0.3) → Dense(16→3) logits.
func mlp(t *testing.T, seed uint64) *nn.Model {
	t.Helper()
	rng := tensor.NewRNG(seed)
	d1, d2 := nn.NewDense("dense", 6, 16, true), nn.NewDense("dense_1", 16, 3, false)
	nn.InitParams(d1, rng)
	nn.InitParams(d2, rng)
	m, err := nn.NewModel("mlp", tensor.Shape{6}, d1, NewStepDropout("dropout", 0.3), d2)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameWeights(t *testing.T, a, b *nn.Model) {
	t.Helper()
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		for j := range pa[i].Value.Data {
			if math.Float32bits(pa[i].Value.Data[j]) != math.Float32bits(pb[i].Value.Data[j]) {
				t.Fatalf("%s[%d]: %g vs %g", pa[i].Name, j, pa[i].Value.Data[j], pb[i].Value.Data[j])
			}
		}
	}
}

// TestFitResumeEqualsUninterrupted: a run interrupted twice (mid-epoch and
// at an epoch boundary) and resumed from its checkpoints ends with the same
// weights, history, CSV rows and callback decisions as an uninterrupted
// run, bit for bit.
func TestFitResumeEqualsUninterrupted(t *testing.T) {
	x, y := blobs(60, 1)
	vx, vy := blobs(30, 2)
	type run struct {
		m   *nn.Model
		csv *CSVLogger
		mc  *ModelCheckpoint
		h   *History
	}
	newOpts := func(dir string) (Options, *CSVLogger, *ModelCheckpoint) {
		csv := &CSVLogger{Path: filepath.Join(dir, "h.csv")}
		mc := &ModelCheckpoint{Path: filepath.Join(dir, "best"), Monitor: "val_accuracy",
			Save: func(*nn.Model, string) error { return nil }}
		return Options{Epochs: 5, Seed: 9, Optimizer: optim.NewAdam(optim.KerasAdam()),
			Callbacks:      []Callback{mc, csv, &ReduceLROnPlateau{Patience: 1, Factor: 0.5}},
			CheckpointPath: filepath.Join(dir, CheckpointName)}, csv, mc
	}
	src := func() Source { return NewTensorSource(x, y, 8, true, 4) }
	val := NewTensorSource(vx, vy, 16, false, 0)

	refDir := t.TempDir()
	o, csv, mc := newOpts(refDir)
	ref := run{m: mlp(t, 1), csv: csv, mc: mc}
	var err error
	if ref.h, err = Fit(ref.m, src(), val, o); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	m := mlp(t, 1)
	var h *History
	var ck *Checkpoint
	for i, at := range [][2]int{{1, 3}, {3, 8}, {-1, -1}} {
		ctx, cancel := context.WithCancel(context.Background())
		o, csv, mc = newOpts(dir)
		o.Context, o.Resume = ctx, ck
		o.OnStep = func(e, s int) {
			if e == at[0] && s == at[1] {
				cancel()
			}
		}
		m = mlp(t, 1)
		if ck != nil {
			m = mlp(t, 77) // other weights: the checkpoint must restore all of them
		}
		h, err = Fit(m, src(), val, o)
		cancel()
		if at[0] >= 0 {
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("run %d: err %v, want ErrInterrupted", i, err)
			}
			if ck, err = LoadCheckpoint(o.CheckpointPath); err != nil {
				t.Fatal(err)
			}
			wantStep := at[1] % 8 // 60 samples / 8 = 8 steps: step 8 ends the epoch
			if ck.Step != wantStep {
				t.Fatalf("run %d: checkpoint at step %d, want %d", i, ck.Step, wantStep)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	sameWeights(t, ref.m, m)
	if len(h.Epochs) != 5 {
		t.Fatalf("resumed history has %d epochs", len(h.Epochs))
	}
	for i, e := range ref.h.Epochs {
		g := h.Epochs[i]
		if e.Loss != g.Loss || e.Accuracy != g.Accuracy || e.ValLoss != g.ValLoss || e.LR != g.LR {
			t.Errorf("epoch %d: uninterrupted %+v, resumed %+v", i, e, g)
		}
	}
	a, _ := os.ReadFile(filepath.Join(refDir, "h.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "h.csv"))
	if strip := func(s []byte) string { // drop the seconds column
		var out []string
		for _, l := range strings.Split(string(s), "\n") {
			if i := strings.LastIndexByte(l, ','); i >= 0 {
				l = l[:i]
			}
			out = append(out, l)
		}
		return strings.Join(out, "\n")
	}; strip(a) != strip(b) || len(a) == 0 {
		t.Errorf("CSV differs:\n%s\nvs\n%s", a, b)
	}
	refBest, _, _ := ref.mc.Best()
	gotBest, _, _ := mc.Best()
	if refBest != gotBest {
		t.Errorf("best epoch: uninterrupted %d, resumed %d", refBest, gotBest)
	}
}

// TestEarlyStoppingRestoresBest: with a metric that improves at epoch 1
// and then worsens, training stops after Patience epochs and the weights of
// epoch 1 are back.
func TestEarlyStoppingRestoresBest(t *testing.T) {
	x, y := blobs(30, 3)
	m := mlp(t, 2)
	var atBest []float32
	// The user callback rewrites the monitored value: 3, 1, 2, 2, 2, ...
	vals := []float64{3, 1, 2, 2, 2, 2, 2, 2}
	es := &EarlyStopping{Monitor: "val_loss", Patience: 2, RestoreBestWeights: true}
	fake := CallbackFunc(func(r *Run, e EpochLog) error {
		if e.Epoch == 1 {
			atBest = append([]float32(nil), m.Params()[0].Value.Data...)
		}
		return nil
	})
	wrap := CallbackFunc(func(r *Run, e EpochLog) error {
		e.ValLoss = vals[e.Epoch]
		return es.EpochEnd(r, e)
	})
	es.TrainBegin(nil)
	var log bytes.Buffer
	h, err := Fit(m, NewTensorSource(x, y, 10, true, 1), nil, Options{Epochs: 8, Callbacks: []Callback{fake, wrap}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !h.Stopped || len(h.Epochs) != 4 || es.StoppedEpoch() != 3 || es.BestEpoch() != 1 {
		t.Fatalf("stopped %v after %d epochs (stopped epoch %d, best %d), want after 4 (epoch index 3), best 1\n%s",
			h.Stopped, len(h.Epochs), es.StoppedEpoch(), es.BestEpoch(), log.String())
	}
	for i, v := range m.Params()[0].Value.Data {
		if v != atBest[i] {
			t.Fatalf("weight %d = %g, want epoch 1's %g", i, v, atBest[i])
		}
	}
	if !strings.Contains(log.String(), "early stopping") {
		t.Errorf("no message:\n%s", log.String())
	}
}

// TestReduceLROnPlateauKerasSequence replays a val_loss sequence through
// the callback and compares the rates with Keras's rule worked out by hand
// (patience 2, factor 0.5, cooldown 1, min_delta 0.01, min_lr 0.2).
func TestReduceLROnPlateauKerasSequence(t *testing.T) {
	c := &ReduceLROnPlateau{Patience: 2, Factor: 0.5, Cooldown: 1, MinDelta: 0.01, MinLR: 0.2}
	opt := optim.NewSGD(optim.SGDConfig{LR: 1})
	r := &Run{Optimizer: opt, Log: &bytes.Buffer{}}
	c.TrainBegin(r)
	// epoch:  0    1      2    3    4    5    6    7    8    9
	seq := []float64{1.0, 0.995, 0.99, 0.98, 0.98, 0.98, 0.98, 0.98, 0.5, 0.5}
	// best 1.0; e1 no (wait 1); e2 no (0.99 !< 0.99) wait 2 -> lr .5, cooldown 1;
	// e3 cooldown 0, 0.98 < 0.99 best .98; e4 wait1; e5 wait2 -> .25, cd 1;
	// e6 cd ->0, no, skip; e7 wait1; e8 best .5; e9 wait 1.
	want := []float64{1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25}
	for i, v := range seq {
		if err := c.EpochEnd(r, EpochLog{Epoch: i, ValLoss: v}); err != nil {
			t.Fatal(err)
		}
		if opt.LR() != want[i] {
			t.Fatalf("after epoch %d: lr %g, want %g", i, opt.LR(), want[i])
		}
	}
	// At the floor: 0.25·0.5 → max(0.125, 0.2) = 0.2, then no further change.
	for i, v := range []float64{0.6, 0.6, 0.6, 0.6, 0.6} {
		c.EpochEnd(r, EpochLog{Epoch: 10 + i, ValLoss: v})
	}
	if opt.LR() != 0.2 {
		t.Errorf("lr %g, want the floor 0.2", opt.LR())
	}
}

// TestClassWeightLoss: with class weights the logged loss is
// Σ w_y·ℓ / N over each batch (Keras class_weight), checked against a
// float64 cross-entropy of the logits before the first step.
func TestClassWeightLoss(t *testing.T) {
	x, y := blobs(12, 5)
	m := mlp(t, 3)
	w := BalancedClassWeights([]int{0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2}, 3)
	if want := []float64{1, 2, 2.0 / 3}; math.Abs(w[0]-want[0]) > 1e-15 || math.Abs(w[1]-want[1]) > 1e-15 || math.Abs(w[2]-want[2]) > 1e-15 {
		t.Fatalf("balanced weights %v, want %v", w, want)
	}
	// Reference: forward in training mode with the dropout masks Fit draws
	// for (epoch 0, step 0), then the weighted mean in float64.
	ref := mlp(t, 3)
	ref.Layers()[1].(*StepDropout).Reseed(Mix(0, 0x64726f70, 0, 0, 0))
	logits := ref.Forward(x, true)
	var want float64
	for i, c := range y {
		row := logits.Data[i*3 : i*3+3]
		mx := math.Max(float64(row[0]), math.Max(float64(row[1]), float64(row[2])))
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		want += w[c] * -(float64(row[c]) - mx - math.Log(s))
	}
	want /= float64(len(y))
	h, err := Fit(m, NewTensorSource(x, y, 12, false, 0), nil, Options{Epochs: 1, ClassWeight: w})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Epochs[0].Loss; math.Abs(got-want) > 1e-5*math.Abs(want) {
		t.Errorf("weighted loss %g, want %g", got, want)
	}
}
