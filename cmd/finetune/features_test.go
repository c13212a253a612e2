package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/internal/shards"
	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// TestDirectoryOrderMatchesDataset: the epoch order -features follows
// (featureSource over every row of a listing) is dataset.Directory's on the
// same folder, seed and epochs.
func TestDirectoryOrderMatchesDataset(t *testing.T) {
	data := makeShapes(t, 9, 1)
	d, err := dataset.FromDirectory(filepath.Join(data, "train"), dataset.Options{TargetSize: [2]int{32, 32}, Shuffle: true, Seed: 11, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	f := &shards.Features{Data: make([]float32, d.Len()), Shape: []int{d.Len(), 1}, Classes: d.ClassNames(), Listing: shards.ListingInfo{Files: d.Len()}}
	for i, l := range d.Labels() {
		f.Rows = append(f.Rows, shards.Row{Index: i, Label: l})
	}
	src := featureSource(f, rowsOf(f), 4, true, 11)
	for e := 0; e < 4; e++ {
		if got, want := src.EpochOrder(e), d.EpochOrder(e); !slices.Equal(got, want) {
			t.Fatalf("epoch %d: %v, dataset %v", e, got, want)
		}
	}
}

// writeShards computes the pooled base features of every image of dir
// (flow_from_directory order, batches of 8) with the model -data would
// build, and writes them as n shards into out, as cmd/features would.
func writeShards(t *testing.T, dir, weights, out string, n int) {
	t.Helper()
	cfg, err := parseFlags([]string{"-data", dir, "-weights", weights, "-size", "32", "-head", "8"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := &model{cfg: cfg, classes: []string{"circles", "stripes"}, width: tinyWidth, weightsPath: weights}
	if err := m.build(); err != nil {
		t.Fatal(err)
	}
	d, err := dataset.FromDirectory(dir, dataset.Options{TargetSize: [2]int{32, 32}, ClassMode: "sparse", BatchSize: 8, Log: io.Discard,
		Preprocess: func(img []float32, _, _, _ int) { vgg.PreprocessPixels(img) }})
	if err != nil {
		t.Fatal(err)
	}
	upto := train.FirstHeadLayer(m.full) + 1
	feats, labels, err := extractFeatures(context.Background(), m.full, train.DirectorySource(d), upto, io.Discard, io.Discard, "test")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := shards.WeightsMD5(weights)
	if err != nil {
		t.Fatal(err)
	}
	per := feats.Shape[1]
	files := d.Files()
	for i := 0; i < n; i++ {
		sh := shards.Shard{Index: i, Count: n}
		o := shards.Output{Base: filepath.Join(out, sh.Base()), Classes: d.ClassNames(),
			Manifest: shards.Manifest{Shard: i, Shards: n,
				Listing: shards.ListingInfo{Fingerprint: "sha256:test-" + filepath.Base(dir), Files: len(files), Classes: 2},
				Settings: shards.Settings{Model: "vgg16", Width: tinyWidth, InputSize: [2]int{32, 32}, Precision: "fp32", Pooling: "avg",
					Preprocessing: "caffe", Interpolation: "nearest", Batch: 8, WeightsMD5: sum}}}
		for _, p := range sh.Positions(len(files)) {
			o.Rows = append(o.Rows, shards.Row{Index: p, Path: files[p], Label: labels[p]})
			o.Features = append(o.Features, feats.Data[p*per:(p+1)*per]...)
		}
		o.Shape = []int{len(o.Rows), per}
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := shards.Begin(o.Base); err != nil {
			t.Fatal(err)
		}
		if err := shards.Write(o); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFeaturesMatchesCachedRun: the head trained from three shards of the
// training features (and one of validation) follows the -data run with
// cached features epoch by epoch (up to float rounding of the base's
// forward pass in other batch compositions), writes the same outputs, and
// a missing shard or other weights are refused by name.
func TestFeaturesMatchesCachedRun(t *testing.T) {
	data := makeShapes(t, 10, 4)
	weights := tinyWeights(t, false)
	common := []string{"-weights", weights, "-size", "32", "-epochs", "3", "-batch", "8", "-head", "8", "-seed", "4"}
	ref := filepath.Join(t.TempDir(), "ref")
	if so, se, code := runCmd(t, context.Background(), nil, append(common, "-data", data, "-out", ref)...); code != 0 {
		t.Fatalf("-data run: exit %d\n%s\n%s", code, so, se)
	}
	feats := t.TempDir()
	writeShards(t, filepath.Join(data, "train"), weights, filepath.Join(feats, "train"), 3)
	writeShards(t, filepath.Join(data, "validation"), weights, filepath.Join(feats, "val"), 1)
	out := filepath.Join(t.TempDir(), "out")
	so, se, code := runCmd(t, context.Background(), nil, append(common, "-features", feats, "-out", out)...)
	if code != 0 {
		t.Fatalf("-features run: exit %d\n%s\n%s", code, so, se)
	}
	if !strings.Contains(so, "20 training rows") || !strings.Contains(so, "8 validation rows") {
		t.Errorf("unexpected summary:\n%s", so)
	}
	a, b := readHistory(t, filepath.Join(ref, "history.csv")), readHistory(t, filepath.Join(out, "history.csv"))
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("history rows %d and %d", len(a), len(b))
	}
	for i := range a {
		for _, col := range []string{"loss", "accuracy", "val_loss", "val_accuracy"} {
			if d := a[i][col] - b[i][col]; d > 1e-4 || d < -1e-4 {
				t.Errorf("epoch %d %s: -data %v, -features %v", i, col, a[i][col], b[i][col])
			}
		}
	}
	for _, f := range []string{"model.h5", "model.json", "best_model.h5", "history.csv", "history.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if _, err := train.Load(out); err != nil {
		t.Errorf("the -features model does not reload: %v", err)
	}

	other := tinyWeightsSeed(t, 8)
	_, se, code = runCmd(t, context.Background(), nil, "-features", feats, "-weights", other, "-out", filepath.Join(t.TempDir(), "o"))
	if code == 0 || !strings.Contains(se, "MD5") {
		t.Errorf("other weights accepted (exit %d):\n%s", code, se)
	}
	missing := filepath.Join(feats, "train", shards.Shard{Index: 1, Count: 3}.Base()+shards.ManifestSuffix)
	if err := os.Remove(missing); err != nil {
		t.Fatal(err)
	}
	_, se, code = runCmd(t, context.Background(), nil, append(common, "-features", feats, "-out", filepath.Join(t.TempDir(), "o"))...)
	if code == 0 || !strings.Contains(se, "missing shard(s) 1/3") {
		t.Errorf("missing shard not named (exit %d):\n%s", code, se)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}
