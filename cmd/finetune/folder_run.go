package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/internal/train"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// runFolder is the recipe on an image folder:
//
//  1. check every input (data, weights, sizes) before writing anything;
//  2. build VGG base + head, load the base weights, freeze the base;
//  3. stage 1: train the head (on cached base features when there is no
//     augmentation), Adam at -lr, for -epochs;
//  4. stage 2 (with -fine-tune-epochs): unfreeze from -fine-tune-from and
//     train with Adam at -fine-tune-lr;
//  5. report the best epoch, the confusion matrix and per-class accuracy,
//     and write model.h5 / model.json.
func runFolder(ctx context.Context, cfg *config, stdout, stderr io.Writer, h *hooks) error {
	weightsPath, width, err := resolveWeights(cfg)
	if err != nil {
		return err
	}
	prep := train.Preprocessing{Mode: "caffe", Interpolation: cfg.Interpolation}
	fd, err := openFolder(cfg, stdout, func(img []float32, _, _, _ int) { vgg.PreprocessPixels(img) })
	if err != nil {
		return err
	}
	out := cfg.Out
	if out == "" {
		out = "finetune-out"
	}
	spec := &train.Spec{
		Format: train.SpecFormat, Architecture: fmt.Sprintf("vgg%d", cfg.Depth), Depth: cfg.Depth, Width: width,
		InputShape: [3]int{cfg.Height, cfg.WidthPx, 3}, Classes: fd.classes,
		Head:          train.HeadSpec{Pooling: cfg.Pooling, Hidden: cfg.Head, Dropout: cfg.Dropout, Logits: true},
		Preprocessing: prep, Weights: train.WeightsName, BaseWeights: cfg.Weights,
	}
	full, drops, err := train.Build(spec, cfg.Seed)
	if err != nil {
		return err
	}
	if cfg.FineTuneEpochs > 0 && (full.Index(cfg.FineTuneFrom) < 0 || !vgg.IsBaseLayer(cfg.FineTuneFrom)) {
		return fmt.Errorf("-fine-tune-from %q: no such layer in the VGG%d base (e.g. block5_conv1)", cfg.FineTuneFrom, cfg.Depth)
	}
	if weightsPath != "" {
		if err := loadBase(full, weightsPath, stderr); err != nil {
			return fmt.Errorf("-weights %s: %w", weightsPath, err)
		}
	}
	var ck *checkpoint
	key := runKey(cfg)
	if cfg.Resume {
		if ck, err = loadCheckpoint(filepath.Join(out, checkpointName)); err != nil {
			return fmt.Errorf("-resume: %w", err)
		}
	}
	if err := vgg.FreezeBase(full); err != nil {
		return err
	}
	full.Summary(stdout)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	spec.Layers = describeLayers(full)
	if err := train.WriteSpec(out, spec); err != nil {
		return err
	}

	total := cfg.Epochs + cfg.FineTuneEpochs
	r := &runner{Full: full, Dropouts: drops, Seed: cfg.Seed, RunKey: key, Out: out, Epochs: total,
		Stdout: stdout, Stderr: stderr, BestEpoch: -1, OnStep: h.onStep,
		SaveWeights: func(p string) error { return vgg.SaveKerasWeights(full, p) }}
	if ck != nil {
		if err := r.restore(ck); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Resuming from %s: stage %d, epoch %d, step %d\n", filepath.Join(out, checkpointName), ck.Stage+1, ck.Epoch+1, ck.Step)
	}
	trainSrc := batchSource(dirSource{fd.train})
	var valSrc batchSource
	if fd.val != nil {
		valSrc = dirSource{fd.val}
	}

	// With no augmentation, the frozen layers [0, upto) give the same output
	// every epoch: compute it once and train layers [upto, end) on it. In
	// stage 1 upto is the first Dense, so the cached features are the pooled
	// (N, C) vectors; in stage 2 it is the first unfrozen convolution.
	cache := cfg.CacheFeature && !cfg.Augment
	var evalNet *nn.Model      // network to evaluate valFeatures with
	var valFeatures *memSource // cached validation features of the current stage
	useCache := func(st *stage, what string) error {
		upto := full.LowestTrainable()
		sub, err := nn.NewModel(st.Name, featureShape(full, upto), full.Layers()[upto:]...)
		if err != nil {
			return err
		}
		st.Net = sub
		st.Prepare = func() error {
			t0 := time.Now()
			fmt.Fprintf(stdout, "Computing %s once (frozen layers up to %s, no augmentation)...\n", what, full.Layers()[upto-1].Name())
			tf, tl, rowOf, err := extractFeaturesIndexed(ctx, full, fd.train, upto, stderr, "training")
			if err != nil {
				return err
			}
			// Same sample order as the image pipeline's epochs.
			order := func(epoch int) []int {
				var o []int
				for _, i := range fd.train.EpochOrder(epoch) {
					if rowOf[i] >= 0 {
						o = append(o, rowOf[i])
					}
				}
				return o
			}
			st.Train = &memSource{x: tf, labels: tl, batch: cfg.Batch, epochOrder: order}
			valFeatures = nil
			if valSrc != nil {
				vf, vl, err := extractFeatures(ctx, full, valSrc, upto, stderr, "validation")
				if err != nil {
					return err
				}
				valFeatures = &memSource{x: vf, labels: vl, batch: cfg.Batch}
				st.Val = valFeatures
			}
			evalNet = sub
			fmt.Fprintf(stdout, "Features: training %v, validation %d images, in %.1fs\n", tf.Shape, valLen(valFeatures), time.Since(t0).Seconds())
			return nil
		}
		return nil
	}

	// Stage 1: the head on the frozen base.
	st1 := &stage{Index: 0, Name: "head", Net: full, Train: trainSrc, Val: valSrc, From: 0, To: cfg.Epochs, LR: cfg.LR}
	if cache {
		if err := useCache(st1, "base features"); err != nil {
			return err
		}
	}
	if err := r.runStage(ctx, st1, ck); err != nil {
		return err
	}

	// Stage 2: fine-tune the top of the base.
	if cfg.FineTuneEpochs > 0 {
		if err := vgg.UnfreezeFrom(full, cfg.FineTuneFrom); err != nil {
			return fmt.Errorf("-fine-tune-from: %w", err)
		}
		tr, nt := full.CountParams()
		fmt.Fprintf(stdout, "Fine-tuning from %s with lr %g: %d trainable, %d non-trainable params\n", cfg.FineTuneFrom, cfg.FineTuneLR, tr, nt)
		st2 := &stage{Index: 1, Name: "fine-tune", Net: full, Train: trainSrc, Val: valSrc, From: cfg.Epochs, To: total, LR: cfg.FineTuneLR}
		valFeatures = nil // the layers above the cache point change now
		if cache {
			if err := useCache(st2, "the frozen layers' output"); err != nil {
				return err
			}
		}
		if err := r.runStage(ctx, st2, ck); err != nil {
			return err
		}
	}

	// Report and save.
	if err := vgg.SaveKerasWeights(full, filepath.Join(out, train.WeightsName)); err != nil {
		return err
	}
	if len(r.History) > 0 {
		fmt.Fprintf(stdout, "Best epoch: %d (%s %.4f), saved as %s\n", r.BestEpoch+1, monitorName(valSrc), r.BestAcc, filepath.Join(out, bestModelName))
	}
	if valSrc != nil {
		var cm confusion
		var acc float64
		var err error
		if valFeatures != nil {
			_, acc, cm, err = evaluate(context.WithoutCancel(ctx), evalNet, valFeatures, len(fd.classes))
		} else {
			_, acc, cm, err = evaluate(context.WithoutCancel(ctx), full, valSrc, len(fd.classes))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Validation accuracy of the final model: %.4f on %d images\n", acc, fd.val.Len())
		cm.write(stdout, fd.classes)
	}
	fmt.Fprintf(stdout, "Saved %s, %s, history.csv, history.png in %s\n", train.WeightsName, train.SpecName, out)
	if h.onDone != nil {
		h.onDone(full)
	}
	return nil
}

// monitorName is the metric best_model.h5 is chosen on.
func monitorName(val batchSource) string {
	if val == nil {
		return "accuracy"
	}
	return "val_accuracy"
}

func valLen(m *memSource) int {
	if m == nil {
		return 0
	}
	return m.Len()
}

// featureShape is the per-sample output shape of layers [0, upto) of m.
func featureShape(m *nn.Model, upto int) tensor.Shape {
	s := append(tensor.Shape{1}, m.InputShape()...)
	for _, l := range m.Layers()[:upto] {
		s, _ = l.OutputShape(s)
	}
	return s[1:]
}

// extractFeaturesIndexed computes the features of every image of d (in
// d's epoch-0 batches) and stacks them in dataset index order, leaving out
// images that failed to decode; rowOf maps a dataset index to its row (or −1).
func extractFeaturesIndexed(ctx context.Context, m *nn.Model, d *dataset.Directory, upto int, progress io.Writer, what string) (*tensor.Tensor, []int, []int, error) {
	n := d.Len()
	labels := make([]int, n)
	feats := make([][]float32, n)
	var shape tensor.Shape
	it := d.Epoch(ctx, 0)
	defer it.Close()
	bar := newProgressBar(progress, d.Steps())
	for step := 0; ; step++ {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("computing %s features: %w", what, err)
		}
		if len(b.Labels) == 0 {
			continue
		}
		f := forwardRange(m, b.X, 0, upto)
		shape = f.Shape
		per := f.Shape[1:].Size()
		for i, idx := range b.Indices {
			feats[idx] = f.Data[i*per : (i+1)*per]
			labels[idx] = b.Labels[i]
		}
		bar.update(step+1, math.NaN(), math.NaN())
	}
	bar.finish()
	var data []float32
	var keep []int
	rowOf := make([]int, n)
	for i, f := range feats {
		rowOf[i] = -1
		if f != nil {
			rowOf[i] = len(keep)
			data = append(data, f...)
			keep = append(keep, labels[i])
		}
	}
	if len(keep) == 0 {
		return nil, nil, nil, fmt.Errorf("computing %s features: no usable images", what)
	}
	return tensor.FromData(data, append(tensor.Shape{len(keep)}, shape[1:]...)...), keep, rowOf, nil
}

// describeLayers lists the model's layers for model.json.
func describeLayers(m *nn.Model) []train.Layer {
	var ls []train.Layer
	s := append(tensor.Shape{1}, m.InputShape()...)
	for _, l := range m.Layers() {
		s, _ = l.OutputShape(s)
		n := 0
		for _, p := range l.Params() {
			n += p.Value.Size()
		}
		ls = append(ls, train.Layer{Name: l.Name(), Type: l.Type(), Output: append([]int(nil), s[1:]...), Params: n, Frozen: !l.Trainable() && n > 0})
	}
	return ls
}
