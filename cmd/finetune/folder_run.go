package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// runFolder is the recipe on an image folder:
//
//  1. check every input (data, weights, sizes, a resumed run's data) before
//     writing anything;
//  2. build VGG base + head, load the base weights, freeze the base;
//  3. stage 1: train the head (on cached base features when there is no
//     augmentation) for -epochs;
//  4. stage 2 (with -fine-tune-epochs): unfreeze from -fine-tune-from and
//     train at -fine-tune-lr;
//  5. report the best epoch, the confusion matrix and per-class accuracy,
//     and write model.h5 / model.json.
//
// ck, when not nil, is the checkpoint of the run to continue.
func runFolder(ctx context.Context, cfg *config, ck *train.Checkpoint, stdout, stderr io.Writer, h *hooks) error {
	weightsPath, width, err := resolveWeights(cfg)
	if err != nil {
		return err
	}
	fd, err := openFolder(cfg, stdout, stderr, func(img []float32, _, _, _ int) { vgg.PreprocessPixels(img) })
	if err != nil {
		return err
	}
	rec := &runRecord{Flags: cfg.set, Data: map[string]*splitManifest{}}
	if rec.Data["train"], err = manifestOf(fd.train, fd.trainDir); err != nil {
		return err
	}
	if fd.val != nil {
		if rec.Data["validation"], err = manifestOf(fd.val, fd.valDir); err != nil {
			return err
		}
	}
	m := &model{cfg: cfg, classes: fd.classes, width: width, weightsPath: weightsPath, fd: fd}
	if err := m.build(); err != nil {
		return err
	}
	if weightsPath != "" {
		s, err := stamp(weightsPath, weightsPath)
		if err != nil {
			return fmt.Errorf("-weights %s: %w", weightsPath, err)
		}
		rec.Weights = &s
	}
	if ck != nil {
		if err := m.checkResume(ck, rec); err != nil {
			return err
		}
	}
	trainSrc := train.Source(train.DirectorySource(fd.train))
	var valSrc train.Source
	if fd.val != nil {
		valSrc = train.DirectorySource(fd.val)
	}
	var classWeight []float64
	if cfg.ClassWeight == "balanced" {
		classWeight = train.BalancedClassWeights(fd.train.Labels(), len(fd.classes))
		var parts []string
		for i, c := range fd.classes {
			parts = append(parts, fmt.Sprintf("%s %.4g", c, classWeight[i]))
		}
		fmt.Fprintf(stdout, "Class weights (balanced, N/(K·n_class)): %s\n", strings.Join(parts, ", "))
	}
	// With no augmentation, the frozen layers [0, upto) give the same output
	// every epoch: compute it once and train layers [upto, end) on it. In
	// stage 1 upto is the first Dense, so the cached features are the pooled
	// (N, C) vectors; in stage 2 it is the first unfrozen convolution.
	cache := cfg.CacheFeature && !cfg.Augment
	data := func(stage, what string) (*nn.Model, train.Source, train.Source, error) {
		if cache {
			return m.cached(ctx, stage, what, stdout, stderr)
		}
		return m.full, trainSrc, valSrc, nil
	}
	return m.train(ctx, ck, rec, data, classWeight, stdout, stderr, h)
}

// model is one -data or -features run's network and outputs.
type model struct {
	cfg         *config
	classes     []string
	width       float64
	weightsPath string
	fd          *folderData // nil with -features
	spec        *train.Spec
	full        *nn.Model
	out         string
}

// build makes the network (base + head), loads the base weights and
// freezes the base.
func (m *model) build() error {
	cfg := m.cfg
	base := cfg.Weights
	if m.weightsPath != "" {
		base = m.weightsPath // absolute
	}
	m.spec = &train.Spec{
		Format: train.SpecFormat, Architecture: fmt.Sprintf("vgg%d", cfg.Depth), Depth: cfg.Depth, Width: m.width,
		InputShape: [3]int{cfg.Height, cfg.WidthPx, 3}, Classes: m.classes,
		Head:          train.HeadSpec{Pooling: cfg.Pooling, Hidden: cfg.Head, Dropout: cfg.Dropout, Logits: true},
		Preprocessing: train.Preprocessing{Mode: "caffe", Interpolation: cfg.Interpolation}, Weights: train.WeightsName, BaseWeights: base,
	}
	full, _, err := train.Build(m.spec, cfg.Seed)
	if err != nil {
		return err
	}
	m.full = full
	if cfg.FineTuneEpochs > 0 && (full.Index(cfg.FineTuneFrom) < 0 || !vgg.IsBaseLayer(cfg.FineTuneFrom)) {
		return fmt.Errorf("-fine-tune-from %q: no such layer in the VGG%d base (e.g. block5_conv1)", cfg.FineTuneFrom, cfg.Depth)
	}
	if m.weightsPath != "" {
		if err := loadBase(full, m.weightsPath); err != nil {
			return fmt.Errorf("-weights %s: %w", m.weightsPath, err)
		}
	}
	m.out = cfg.outDir()
	return vgg.FreezeBase(full)
}

// checkResume refuses a checkpoint whose data or base weights changed, then
// restores its weights.
func (m *model) checkResume(ck *train.Checkpoint, rec *runRecord) error {
	was, err := decodeRecord(ck.Extra)
	if err != nil {
		return fmt.Errorf("-resume: %s: %w", filepath.Join(m.out, train.CheckpointName), err)
	}
	if err := compareData(was.Data, rec.Data); err != nil {
		return fmt.Errorf("-resume: %w", err)
	}
	if (was.Weights == nil) != (rec.Weights == nil) || (was.Weights != nil && *was.Weights != *rec.Weights) {
		return fmt.Errorf("-resume: the base weights file changed since the checkpoint was written (was %+v, now %+v)", was.Weights, rec.Weights)
	}
	return ck.RestoreWeights(m.full)
}

// train runs both stages, then reports and saves. data returns, for a
// stage (named, and what its cached input is called), the network to train
// and its training and validation sources (nil: none).
func (m *model) train(ctx context.Context, ck *train.Checkpoint, rec *runRecord, data func(stage, what string) (*nn.Model, train.Source, train.Source, error),
	classWeight []float64, stdout, stderr io.Writer, h *hooks) error {
	cfg, full, out := m.cfg, m.full, m.out
	full.Summary(stdout)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	if err := removeStaleTemps(out, stdout); err != nil {
		return err
	}
	if ck == nil {
		if err := moveAsideOutputs(out, stdout); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "Resuming from %s: %s stage, epoch %d, step %d\n", filepath.Join(out, train.CheckpointName), ck.Stage, ck.Epoch+1, ck.Step)
	}
	best := &train.ModelCheckpoint{Path: filepath.Join(out, bestModelName), Monitor: cfg.Monitor}
	csv := &train.CSVLogger{Path: filepath.Join(out, "history.csv"), Append: true}
	plot := &historyPlot{Path: filepath.Join(out, "history.png"), Monitor: cfg.Monitor}
	total := cfg.Epochs + cfg.FineTuneEpochs
	opts := func(stage string, from, to int, lr float64) (train.Options, error) {
		opt, err := cfg.newOptimizer(lr)
		o := train.Options{Context: ctx, Stage: stage, InitialEpoch: from, Epochs: to, TotalEpochs: total,
			Optimizer: opt, ClassWeight: classWeight, Seed: cfg.Seed, Log: stdout, Progress: stderr,
			Callbacks: append([]train.Callback{best, csv, plot}, cfg.callbacks()...), SaveModel: full,
			CheckpointPath: filepath.Join(out, train.CheckpointName), CheckpointExtra: encodeRecord(rec), OnStep: h.onStep}
		if ck != nil && ck.Stage == stage {
			o.Resume = ck
		}
		return o, err
	}

	var evalNet *nn.Model
	var evalSrc train.Source
	stage := func(name string, from, to int, lr float64, what string) error {
		o, err := opts(name, from, to, lr)
		if err != nil {
			return err
		}
		net, tr, va, err := data(name, what)
		if err != nil {
			return err
		}
		evalNet, evalSrc = net, va
		_, err = train.Fit(net, tr, va, o)
		return err
	}
	stage1Done := ck != nil && ck.Stage == "fine-tune"
	if cfg.Epochs > 0 && !stage1Done {
		if err := stage("head", 0, cfg.Epochs, cfg.LR, "base features"); err != nil {
			return m.stopped(err, stdout)
		}
	}
	if cfg.FineTuneEpochs > 0 {
		if err := vgg.UnfreezeFrom(full, cfg.FineTuneFrom); err != nil {
			return fmt.Errorf("-fine-tune-from: %w", err)
		}
		tr, nt := full.CountParams()
		fmt.Fprintf(stdout, "Fine-tuning from %s with lr %g: %d trainable, %d non-trainable params\n", cfg.FineTuneFrom, cfg.FineTuneLR, tr, nt)
		if err := stage("fine-tune", cfg.Epochs, total, cfg.FineTuneLR, "the frozen layers' output"); err != nil {
			return m.stopped(err, stdout)
		}
	}

	// Report and save.
	if e, v, metric := best.Best(); e >= 0 {
		fmt.Fprintf(stdout, "Best epoch: %d (%s %.4f), saved as %s\n", e+1, metric, v, filepath.Join(out, bestModelName))
	}
	if evalSrc != nil {
		ev, err := train.Evaluate(context.WithoutCancel(ctx), evalNet, evalSrc, len(m.classes))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Validation accuracy of the final model: %.4f on %d images\n", ev.Accuracy, ev.Samples)
		ev.Confusion.Write(stdout, m.classes)
	}
	// model.json last: it describes the final trainable state.
	if err := train.Save(out, full, m.spec); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(out, train.CheckpointName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintf(stdout, "Saved %s, %s, %s, history.csv, history.png in %s (%s removed: the run is complete)\n",
		train.WeightsName, train.SpecName, bestModelName, out, train.CheckpointName)
	if h.onDone != nil {
		h.onDone(full)
	}
	return nil
}

// stopped adds the way to continue to an interruption.
func (m *model) stopped(err error, stdout io.Writer) error {
	if errors.Is(err, train.ErrInterrupted) && !strings.Contains(err.Error(), "nothing to save") {
		fmt.Fprintf(stdout, "To continue: finetune -resume -out %s\n", m.out)
	}
	return err
}

// cached computes the frozen layers' output once and returns the network of
// the layers above it with sources over the cached features, in the image
// pipeline's sample order.
func (m *model) cached(ctx context.Context, stage, what string, stdout, stderr io.Writer) (*nn.Model, train.Source, train.Source, error) {
	full := m.full
	upto := full.LowestTrainable()
	sub, err := nn.NewModel(stage, featureShape(full, upto), full.Layers()[upto:]...)
	if err != nil {
		return nil, nil, nil, err
	}
	t0 := time.Now()
	fmt.Fprintf(stdout, "Computing %s once (frozen layers up to %s, no augmentation)...\n", what, full.Layers()[upto-1].Name())
	tr, err := extractFeaturesOrdered(ctx, full, m.fd.train, upto, m.cfg.Batch, stdout, stderr, "training")
	if err != nil {
		return nil, nil, nil, err
	}
	var va *train.TensorSource
	if m.fd.val != nil {
		vf, vl, err := extractFeatures(ctx, full, train.DirectorySource(m.fd.val), upto, stdout, stderr, "validation")
		if err != nil {
			return nil, nil, nil, err
		}
		va = train.NewTensorSource(vf, vl, m.cfg.Batch, false, 0)
	}
	fmt.Fprintf(stdout, "Features: training %v, validation %d images, in %.1fs\n", tr.X.Shape, sourceLen(va), time.Since(t0).Seconds())
	if va == nil {
		return sub, tr, nil, nil
	}
	return sub, tr, va, nil
}

func sourceLen(s *train.TensorSource) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

// outDir is -out or its default.
func (c *config) outDir() string {
	if c.Out == "" {
		return "finetune-out"
	}
	return c.Out
}
