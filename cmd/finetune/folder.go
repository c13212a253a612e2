package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// folderData is the training and validation image sets of a -data folder.
type folderData struct {
	train, val       *dataset.Directory // val nil without validation data
	trainDir, valDir string             // their folders
	classes          []string
}

// openFolder finds the layout of -data with dataset.FindSplits (train/ with
// validation/, val/ or valid/; or one folder split by -validation-split; or
// one folder without validation), prints its warnings, and builds the
// datasets. Nothing is written.
func openFolder(cfg *config, stdout, stderr io.Writer, preprocess func([]float32, int, int, int)) (*folderData, error) {
	st, err := os.Stat(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("-data %s: %w", cfg.Data, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("-data %s is not a folder", cfg.Data)
	}
	splits, warnings, err := dataset.FindSplits(cfg.Data, cfg.ValidationSplit)
	if err != nil {
		return nil, fmt.Errorf("-data: %w", err)
	}
	for _, w := range warnings {
		fmt.Fprintln(stdout, w)
		if !train.IsTerminal(stdout) { // a log file or pipe: say it on the screen too
			fmt.Fprintln(stderr, w)
		}
	}
	base := dataset.Options{
		TargetSize:         [2]int{cfg.Height, cfg.WidthPx},
		ClassMode:          "sparse",
		BatchSize:          cfg.Batch,
		Seed:               cfg.Seed,
		Interpolation:      cfg.Interpolation,
		Workers:            cfg.Workers,
		Cache:              cfg.CacheImages,
		Preprocess:         preprocess,
		Log:                stdout,
		DecodeMemoryBudget: cfg.DecodeMemory,
	}
	trainOpt := base
	trainOpt.Shuffle = true
	if cfg.Augment {
		trainOpt.Augment = &dataset.Augment{
			ShearRange: cfg.Shear, ZoomRange: cfg.Zoom, RotationRange: cfg.Rotation,
			WidthShiftRange: cfg.WidthShift, HeightShiftRange: cfg.HeightShift,
			HorizontalFlip: cfg.HFlip, VerticalFlip: cfg.VFlip, FillMode: "nearest",
			BrightnessRange: cfg.Brightness, ChannelShiftRange: cfg.ChannelShift,
		}
	}
	valOpt := base
	fd := &folderData{}
	valDir := splits.Validation
	if valDir == "" && cfg.ValidationSplit > 0 {
		trainOpt.ValidationSplit, trainOpt.Subset = cfg.ValidationSplit, "training"
		valOpt.ValidationSplit, valOpt.Subset = cfg.ValidationSplit, "validation"
		valDir = splits.Train
	}
	if fd.train, err = dataset.FromDirectory(splits.Train, trainOpt); err != nil {
		return nil, fmt.Errorf("-data: %w", err)
	}
	fd.classes = fd.train.ClassNames()
	fd.trainDir, fd.valDir = splits.Train, valDir
	if valDir != "" {
		valOpt.Classes = fd.classes
		if fd.val, err = dataset.FromDirectory(valDir, valOpt); err != nil {
			return nil, fmt.Errorf("-data (validation %s): %w", valDir, err)
		}
	}
	if len(fd.classes) < 2 {
		return nil, fmt.Errorf("-data %s: %d class folder(s); a classifier needs at least 2", cfg.Data, len(fd.classes))
	}
	return fd, nil
}

// resolveWeights turns -weights into a file path ("" for none) and checks
// that the file is a readable VGG weights file that fits -size and -depth.
// It returns the width multiplier to build the base with.
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
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
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
		return "", 0, fmt.Errorf("-width-multiplier %g gives %d channels in block1_conv1, but -weights %s has %d (multiplier %g)", width, vgg.Scale(64, width), path, info.Channels[0], info.Width)
	}
	return path, width, nil
}

// loadBase loads the base's weights from path into the first layers of m
// (the block* layers), leaving the head as initialised.
func loadBase(m *nn.Model, path string) error {
	head := train.FirstHeadLayer(m)
	base, err := nn.NewModel("vgg_base", m.InputShape(), m.Layers()[:head]...)
	if err != nil {
		return err
	}
	info, err := vgg.InspectKerasWeights(path)
	if err != nil {
		return err
	}
	// A file with the top (fc1, fc2, predictions) has layers the base lacks,
	// and a base cut below its top block (head From an earlier layer) lacks
	// the file's upper layers: both ignore those, as Keras's
	// load_weights(by_name=True) would, and still fail on any base layer the
	// file lacks or holds with other shapes. Warnings stays nil: weights
	// holding NaN or Inf are reported on os.Stderr.
	opt := vgg.LoadOptions{IgnoreExtra: info.IncludeTop || m.Index("block5_pool") < 0}
	if err := vgg.LoadKerasWeights(base, path, opt); err != nil {
		return err
	}
	return nil
}
