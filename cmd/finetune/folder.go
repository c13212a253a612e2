package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/internal/train"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// dirSource adapts a dataset.Directory to batchSource. Resuming mid-epoch
// reads (and drops) the batches before the start step, so decoding and
// augmentation see exactly the same sequence as an uninterrupted run.
type dirSource struct{ d *dataset.Directory }

func (s dirSource) Len() int   { return s.d.Len() }
func (s dirSource) Steps() int { return s.d.Steps() }
func (s dirSource) Epoch(ctx context.Context, epoch, start int, fn func(int, *tensor.Tensor, []int) error) error {
	it := s.d.Epoch(ctx, epoch)
	defer it.Close()
	for step := 0; ; step++ {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if step < start || len(b.Labels) == 0 {
			continue
		}
		if err := fn(step, b.X, b.Labels); err != nil {
			return err
		}
	}
}

// folderData is the training and validation image sets of a -data folder.
type folderData struct {
	train, val *dataset.Directory // val nil without validation data
	classes    []string
}

// openFolder finds the layout of -data (train/ + validation/ subfolders, or
// one folder split by -validation-split, or one folder without validation)
// and builds the datasets. Nothing is written.
func openFolder(cfg *config, stdout io.Writer, preprocess func([]float32, int, int, int)) (*folderData, error) {
	st, err := os.Stat(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("-data %s: %w", cfg.Data, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("-data %s is not a folder", cfg.Data)
	}
	base := dataset.Options{
		TargetSize:    [2]int{cfg.Height, cfg.WidthPx},
		ClassMode:     "sparse",
		BatchSize:     cfg.Batch,
		Seed:          cfg.Seed,
		Interpolation: cfg.Interpolation,
		Workers:       cfg.Workers,
		Cache:         cfg.CacheImages,
		Preprocess:    preprocess,
		Log:           stdout,
	}
	trainOpt := base
	trainOpt.Shuffle = true
	if cfg.Augment {
		trainOpt.Augment = &dataset.Augment{
			ShearRange: cfg.Shear, ZoomRange: cfg.Zoom, RotationRange: cfg.Rotation,
			WidthShiftRange: cfg.WidthShift, HeightShiftRange: cfg.HeightShift,
			HorizontalFlip: cfg.HFlip, VerticalFlip: cfg.VFlip, FillMode: "nearest",
		}
	}
	valOpt := base
	trainDir, valDir := filepath.Join(cfg.Data, "train"), filepath.Join(cfg.Data, "validation")
	fd := &folderData{}
	if isDir(trainDir) {
		if fd.train, err = dataset.FromDirectory(trainDir, trainOpt); err != nil {
			return nil, fmt.Errorf("-data: %w", err)
		}
		fd.classes = fd.train.ClassNames()
		if isDir(valDir) {
			valOpt.Classes = fd.classes
			if fd.val, err = dataset.FromDirectory(valDir, valOpt); err != nil {
				return nil, fmt.Errorf("-data: %w", err)
			}
		}
	} else if cfg.ValidationSplit > 0 {
		trainOpt.ValidationSplit, trainOpt.Subset = cfg.ValidationSplit, "training"
		valOpt.ValidationSplit, valOpt.Subset = cfg.ValidationSplit, "validation"
		if fd.train, err = dataset.FromDirectory(cfg.Data, trainOpt); err != nil {
			return nil, fmt.Errorf("-data: %w", err)
		}
		fd.classes = fd.train.ClassNames()
		valOpt.Classes = fd.classes
		if fd.val, err = dataset.FromDirectory(cfg.Data, valOpt); err != nil {
			return nil, fmt.Errorf("-data (validation split): %w", err)
		}
	} else {
		if fd.train, err = dataset.FromDirectory(cfg.Data, trainOpt); err != nil {
			return nil, fmt.Errorf("-data: %w", err)
		}
		fd.classes = fd.train.ClassNames()
		fmt.Fprintln(stdout, "No validation data (no validation/ folder and no -validation-split): best model chosen on training accuracy.")
	}
	if len(fd.classes) < 2 {
		return nil, fmt.Errorf("-data %s: %d class folder(s); a classifier needs at least 2", cfg.Data, len(fd.classes))
	}
	return fd, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// resolveWeights turns -weights into a file path ("" for none) and checks
// that the file is a readable VGG weights file that fits -size and -depth.
// It returns the width to build the base with.
func resolveWeights(cfg *config) (path string, width float64, err error) {
	width = cfg.Width
	switch cfg.Weights {
	case "none", "":
		if width == 0 {
			width = 1
		}
		return "", width, nil
	case "imagenet":
		if cfg.Depth != 16 && cfg.Depth != 19 {
			return "", 0, fmt.Errorf("-weights imagenet: Keras publishes VGG16 and VGG19 only, not -depth %d", cfg.Depth)
		}
		name := "vgg16"
		if cfg.Depth == 19 {
			name = "vgg19"
		}
		if path, err = vgg.Weights(name, false); err != nil {
			return "", 0, fmt.Errorf("-weights imagenet: %w", err)
		}
	default:
		path = cfg.Weights
		if _, err := os.Stat(path); err != nil {
			return "", 0, fmt.Errorf("-weights %s: %w", path, errors.Unwrap(err))
		}
	}
	info, err := vgg.InspectKerasWeights(path)
	if err != nil {
		return "", 0, fmt.Errorf("-weights %s: not a usable Keras VGG weights file: %w", path, err)
	}
	if info.Depth != cfg.Depth {
		return "", 0, fmt.Errorf("-weights %s holds a VGG%d, but -depth is %d", path, info.Depth, cfg.Depth)
	}
	if info.IncludeTop && (info.InputHW != cfg.Height || info.InputHW != cfg.WidthPx) {
		return "", 0, fmt.Errorf("-size %dx%d does not fit -weights %s: it includes the top (fc1) for %dx%d inputs; use -size %d or a notop weights file",
			cfg.Height, cfg.WidthPx, path, info.InputHW, info.InputHW, info.InputHW)
	}
	if width == 0 {
		width = info.Width
	} else if vgg.Scale(64, width) != info.Channels[0] {
		return "", 0, fmt.Errorf("-width %g gives %d channels in block1_conv1, but -weights %s has %d (width %g)", width, vgg.Scale(64, width), path, info.Channels[0], info.Width)
	}
	return path, width, nil
}

// loadBase loads the base's weights from path into the first layers of m
// (the block* layers), leaving the head as initialised.
func loadBase(m *nn.Model, path string, warn io.Writer) error {
	head := train.FirstHeadLayer(m)
	base, err := nn.NewModel("vgg_base", m.InputShape(), m.Layers()[:head]...)
	if err != nil {
		return err
	}
	info, err := vgg.InspectKerasWeights(path)
	if err != nil {
		return err
	}
	// A file with the top (fc1, fc2, predictions) has layers the base lacks;
	// skip those, but still fail on any base layer that does not match.
	// A base cut below its top block (head From an earlier layer) ignores
	// the file's upper layers, as Keras's load_weights(by_name=True) would.
	opt := vgg.LoadOptions{IgnoreExtra: m.Index("block5_pool") < 0}
	if err := vgg.LoadKerasWeights(base, path, opt); err != nil && info.IncludeTop {
		if err := vgg.LoadKerasWeights(base, path, vgg.LoadOptions{SkipMismatch: true, Warnings: io.Discard}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return nil
}

// runKey fingerprints the flags that change the computation, so -resume
// refuses a checkpoint written with different ones.
func runKey(cfg *config, extra ...string) string {
	c := *cfg
	c.Resume, c.Workers, c.Out, c.CacheImages = false, 0, "", false
	b, _ := json.Marshal(struct {
		C *config
		E []string
	}{&c, extra})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
