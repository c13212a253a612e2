package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/internal/shards"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/train"
)

// runFeatures trains the head from the feature shards cmd/features wrote
// (-features DIR) and writes the outputs of a frozen-base -data run: the
// whole model (base from -weights, which must be the file the shards were
// computed with), model.json, best_model.h5, history.csv and history.png.
//
// DIR holds the shards of one listing, or train/ and validation/ (or val/,
// valid/) folders of shards; without a validation folder -validation-split
// holds out the first fraction of each class's rows, as Keras's
// validation_split does. The rows are visited in the order a -data run on
// the same images visits them (dataset.Directory's epoch order), so with
// the same seed the head follows the cached-features run of -data.
func runFeatures(ctx context.Context, cfg *config, ck *train.Checkpoint, stdout, stderr io.Writer, h *hooks) error {
	if cfg.FineTuneEpochs > 0 || cfg.Augment {
		return fmt.Errorf("%w: -features trains the head on fixed features: -fine-tune-epochs and augmentation need the images (-data)", errUsage)
	}
	trainDir, valDir := featureSplits(cfg.Features)
	tf, err := shards.Merge(trainDir)
	if err != nil {
		return fmt.Errorf("-features: %w", err)
	}
	if len(tf.Classes) < 2 {
		return fmt.Errorf("-features %s: %d classes (features of unlabelled files?); a classifier needs at least 2", trainDir, len(tf.Classes))
	}
	var vf *shards.Features
	if valDir != "" {
		if vf, err = shards.Merge(valDir); err != nil {
			return fmt.Errorf("-features (validation): %w", err)
		}
		if vf.Settings != tf.Settings || strings.Join(vf.Classes, "\n") != strings.Join(tf.Classes, "\n") {
			return fmt.Errorf("-features: %s and %s were computed with different settings or classes (%+v %v vs %+v %v)",
				trainDir, valDir, tf.Settings, tf.Classes, vf.Settings, vf.Classes)
		}
	}
	if err := adoptSettings(cfg, tf.Settings); err != nil {
		return err
	}
	weightsPath, width, err := resolveWeights(cfg)
	if err != nil {
		return err
	}
	if weightsPath == "" {
		return fmt.Errorf("-features: -weights must name the base the shards were computed with (not none)")
	}
	if sum, err := shards.WeightsMD5(weightsPath); err != nil {
		return fmt.Errorf("-weights %s: %w", weightsPath, err)
	} else if sum != tf.Settings.WeightsMD5 {
		return fmt.Errorf("-weights %s has MD5 %s, but the shards in %s were computed with weights of MD5 %s", weightsPath, sum, trainDir, tf.Settings.WeightsMD5)
	}

	m := &model{cfg: cfg, classes: tf.Classes, width: width, weightsPath: weightsPath}
	if err := m.build(); err != nil {
		return err
	}
	// The head reads the shards' features: from the pooling layer for
	// unpooled (N, h, w, C) features, from the first Dense for pooled ones.
	upto := train.FirstHeadLayer(m.full)
	if tf.Settings.Pooling != "none" {
		upto++
	}
	if got, want := tf.Shape[1:], featureShape(m.full, upto); !tensor.Shape(got).Equal(want) {
		return fmt.Errorf("-features: rows of shape %v, but the head of this model reads %v", got, want)
	}
	head, err := nn.NewModel("head", featureShape(m.full, upto), m.full.Layers()[upto:]...)
	if err != nil {
		return err
	}
	rec := &runRecord{Flags: cfg.set, Data: map[string]*splitManifest{}}
	if rec.Data["train"], err = shardManifest(trainDir, tf); err != nil {
		return err
	}
	if vf != nil {
		if rec.Data["validation"], err = shardManifest(valDir, vf); err != nil {
			return err
		}
	}
	if s, err := stamp(weightsPath, weightsPath); err == nil {
		rec.Weights = &s
	}
	if ck != nil {
		if err := m.checkResume(ck, rec); err != nil {
			return err
		}
	}

	trainRows, valRows := rowsOf(tf), []int(nil)
	if vf == nil && cfg.ValidationSplit > 0 {
		trainRows, valRows = splitRows(tf, cfg.ValidationSplit)
	}
	trainSrc := featureSource(tf, trainRows, cfg.Batch, true, cfg.Seed)
	var valSrc train.Source
	switch {
	case vf != nil:
		valSrc = featureSource(vf, rowsOf(vf), cfg.Batch, false, 0)
	case len(valRows) > 0:
		valSrc = featureSource(tf, valRows, cfg.Batch, false, 0)
	default:
		fmt.Fprintf(stdout, "Warning: NO VALIDATION DATA: %s has no validation/, val/ or valid/ shard folder and -validation-split is 0; the model is checked on training data only\n", cfg.Features)
	}
	fmt.Fprintf(stdout, "Features from %s: %d training rows of %v, %d validation rows, %d classes (%s)\n",
		cfg.Features, trainSrc.Len(), tf.Shape[1:], sourceLen(asTensorSource(valSrc)), len(tf.Classes), strings.Join(tf.Classes, ", "))
	var classWeight []float64
	if cfg.ClassWeight == "balanced" {
		classWeight = train.BalancedClassWeights(trainSrc.Y, len(tf.Classes))
	}
	data := func(string, string) (*nn.Model, train.Source, train.Source, error) {
		return head, trainSrc, valSrc, nil
	}
	return m.train(ctx, ck, rec, data, classWeight, stdout, stderr, h)
}

// featureSplits returns the training and validation shard folders of dir:
// dir/train with dir/validation, dir/val or dir/valid when they hold
// shards, else dir alone.
func featureSplits(dir string) (trainDir, valDir string) {
	if !isDir(filepath.Join(dir, "train")) {
		return dir, ""
	}
	for _, v := range []string{"validation", "val", "valid"} {
		if isDir(filepath.Join(dir, v)) {
			return filepath.Join(dir, "train"), filepath.Join(dir, v)
		}
	}
	return filepath.Join(dir, "train"), ""
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// adoptSettings takes the model settings from the shards' manifest; a flag
// given explicitly with another value is an error naming both.
func adoptSettings(cfg *config, s shards.Settings) error {
	depth := 0
	if _, err := fmt.Sscanf(s.Model, "vgg%d", &depth); err != nil {
		return fmt.Errorf("-features: model %q: want vgg11, vgg13, vgg16 or vgg19", s.Model)
	}
	if s.Preprocessing != "caffe" || s.Precision != "fp32" {
		return fmt.Errorf("-features: preprocessing %q, precision %q: want caffe and fp32", s.Preprocessing, s.Precision)
	}
	want := map[string]string{"depth": fmt.Sprint(depth), "width-multiplier": fmt.Sprint(s.Width),
		"size": fmt.Sprintf("%dx%d", s.InputSize[0], s.InputSize[1]), "interpolation": s.Interpolation}
	if s.Pooling != "none" {
		want["pooling"] = s.Pooling
	}
	var diffs []string
	for name, v := range want {
		if given, ok := cfg.set[name]; ok && !sameFlagValue(given, v) && !(name == "size" && given == fmt.Sprint(s.InputSize[0]) && s.InputSize[0] == s.InputSize[1]) {
			diffs = append(diffs, fmt.Sprintf("-%s is %s but the shards were computed with %s", name, given, v))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return fmt.Errorf("%w: %s", errUsage, strings.Join(diffs, "; "))
	}
	cfg.Depth, cfg.Width, cfg.Height, cfg.WidthPx, cfg.Interpolation = depth, s.Width, s.InputSize[0], s.InputSize[1], s.Interpolation
	if s.Pooling != "none" {
		cfg.Pooling = s.Pooling
	}
	return nil
}

// shardManifest fingerprints a shard folder for -resume: its classes and
// every file the shards consist of, with sizes and modification times.
func shardManifest(dir string, f *shards.Features) (*splitManifest, error) {
	m := &splitManifest{Dir: dir, Classes: f.Classes}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			s, err := stamp(filepath.Join(dir, e.Name()), e.Name())
			if err != nil {
				return nil, err
			}
			m.Files = append(m.Files, s)
		}
	}
	return m, nil
}

// rowsOf returns 0…len(f.Rows)−1.
func rowsOf(f *shards.Features) []int {
	r := make([]int, len(f.Rows))
	for i := range r {
		r[i] = i
	}
	return r
}

// splitRows holds out, per class, the first int(n·v) of its n rows in
// listing order (Keras's validation_split takes the head of each class's
// sorted file list; files that failed to decode have no row here).
func splitRows(f *shards.Features, v float64) (trainRows, valRows []int) {
	byClass := map[int][]int{}
	for i, r := range f.Rows {
		byClass[r.Label] = append(byClass[r.Label], i)
	}
	for c := range len(f.Classes) {
		rows := byClass[c]
		k := int(float64(len(rows)) * v)
		valRows = append(valRows, rows[:k]...)
		trainRows = append(trainRows, rows[k:]...)
	}
	sort.Ints(valRows)
	sort.Ints(trainRows)
	return trainRows, valRows
}

// featureSource is a TensorSource over the given rows of f. Shuffled, it
// visits them in dataset.Directory's epoch order over the listing
// (dataset.ShuffledOrder), so that a head trained on shards sees its
// samples in the order a -data run over the same files would.
func featureSource(f *shards.Features, rows []int, batch int, shuffle bool, seed uint64) *train.TensorSource {
	per := 1
	for _, d := range f.Shape[1:] {
		per *= d
	}
	x := tensor.New(append([]int{len(rows)}, f.Shape[1:]...)...)
	labels := make([]int, len(rows))
	for i, r := range rows {
		copy(x.Data[i*per:(i+1)*per], f.Data[r*per:(r+1)*per])
		labels[i] = f.Rows[r].Label
	}
	src := train.NewTensorSource(x, labels, batch, false, 0)
	if shuffle {
		// Position in the listing of every sample; the Directory of a -data
		// run holds exactly the listed files, in listing order.
		rowAt := map[int]int{}
		for i, r := range rows {
			rowAt[f.Rows[r].Index] = i
		}
		n := f.Listing.Files
		src.Order = func(epoch int) []int {
			var o []int
			for _, p := range dataset.ShuffledOrder(n, seed, epoch) {
				if i, ok := rowAt[p]; ok {
					o = append(o, i)
				}
			}
			return o
		}
	}
	return src
}

// asTensorSource returns s as a *train.TensorSource, or nil.
func asTensorSource(s train.Source) *train.TensorSource {
	t, _ := s.(*train.TensorSource)
	return t
}
