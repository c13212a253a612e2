package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// config is every flag of the command, parsed and checked.
type config struct {
	Data            string  // -data: folder with train/ and validation/, or one folder + -validation-split
	ValidationSplit float64 // -validation-split
	Weights         string  // -weights imagenet|FILE.h5|none
	Depth           int     // -depth
	Width           float64 // -width (0 = infer from the weights file, 1 for none/imagenet)
	Height, WidthPx int     // -size
	Head            []int   // -head
	Dropout         float64 // -dropout
	Pooling         string  // -pooling avg|max|flatten
	Batch           int
	Epochs          int
	LR              float64
	Seed            uint64
	Workers         int
	Interpolation   string

	Augment                 bool
	Shear, Zoom, Rotation   float64
	WidthShift, HeightShift float64
	HFlip, VFlip            bool

	FineTuneFrom   string
	FineTuneEpochs int
	FineTuneLR     float64

	Out          string
	Resume       bool
	CacheFeature bool
	CacheImages  bool

	// Default-run knobs (only without -data).
	Quick bool // -quick: a much smaller offline default for tests
}

// errUsage marks a bad command line; main prints it with the usage and exits 2.
var errUsage = errors.New("usage")

// parseFlags parses args into a config. It returns errUsage-wrapped errors
// for bad values so main can exit with status 2.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("finetune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Data, "data", "", "image folder: DIR/train/<class>/* and DIR/validation/<class>/*, or DIR/<class>/* with -validation-split; empty runs the offline MNIST demo")
	fs.Float64Var(&c.ValidationSplit, "validation-split", 0, "fraction of each class held out for validation when -data has no train/validation subfolders (Keras validation_split)")
	fs.StringVar(&c.Weights, "weights", "imagenet", "base weights: imagenet (Keras's file, from ~/.keras/models or downloaded), a Keras .h5 file, or none (random init)")
	fs.IntVar(&c.Depth, "depth", 16, "VGG depth: 11, 13, 16 or 19")
	fs.Float64Var(&c.Width, "width", 0, "channel multiplier of the VGG base (1 = real VGG); 0 infers it from the weights file")
	size := fs.String("size", "224", "input size: N or HxW (at least 32)")
	head := fs.String("head", "256", "hidden Dense(relu) units of the new head, comma-separated (empty for none)")
	fs.Float64Var(&c.Dropout, "dropout", 0, "dropout rate after each hidden head layer (0 = none)")
	fs.StringVar(&c.Pooling, "pooling", "avg", "how the head reduces the base's feature map: avg (GlobalAveragePooling2D), max or flatten")
	fs.IntVar(&c.Batch, "batch", 16, "batch size")
	fs.IntVar(&c.Epochs, "epochs", 10, "epochs of head training (frozen base)")
	fs.Float64Var(&c.LR, "lr", 1e-3, "Adam learning rate for head training")
	seed := fs.Uint64("seed", 1, "random seed (weights init, shuffling, augmentation, dropout)")
	fs.IntVar(&c.Workers, "workers", 0, "image decoding goroutines (0 = GOMAXPROCS)")
	fs.StringVar(&c.Interpolation, "interpolation", "nearest", "resize at load time: nearest (Keras flow_from_directory's default), bilinear or bicubic")
	fs.BoolVar(&c.Augment, "augment", false, "augment training images; alone it is the classic recipe: shear 0.2, zoom 0.2, horizontal flip")
	fs.Float64Var(&c.Shear, "shear", -1, "shear range in degrees (Keras shear_range; default 0.2 with -augment)")
	fs.Float64Var(&c.Zoom, "zoom", -1, "zoom range z: scale in [1-z, 1+z] (default 0.2 with -augment)")
	fs.Float64Var(&c.Rotation, "rotation", 0, "rotation range in degrees")
	fs.Float64Var(&c.WidthShift, "width-shift", 0, "horizontal shift: fraction of the width (<1) or pixels")
	fs.Float64Var(&c.HeightShift, "height-shift", 0, "vertical shift: fraction of the height (<1) or pixels")
	hflip := fs.String("hflip", "default", "random horizontal flips: true/false (default true with -augment)")
	fs.BoolVar(&c.VFlip, "vflip", false, "random vertical flips")
	fs.StringVar(&c.FineTuneFrom, "fine-tune-from", "block5_conv1", "second stage: unfreeze the base from this layer up")
	fs.IntVar(&c.FineTuneEpochs, "fine-tune-epochs", 0, "second stage epochs (0 = no second stage)")
	fs.Float64Var(&c.FineTuneLR, "fine-tune-lr", 1e-5, "second stage Adam learning rate")
	fs.StringVar(&c.Out, "out", "", "output folder (default: finetune-out, or the cache-side folder for the demo)")
	fs.BoolVar(&c.Resume, "resume", false, "continue from -out/checkpoint.gob")
	fs.BoolVar(&c.CacheFeature, "cache-features", true, "with a frozen base and no augmentation, compute the base's features once and train the head on them")
	fs.BoolVar(&c.CacheImages, "cache-images", true, "keep decoded, resized images in memory after the first epoch")
	fs.BoolVar(&c.Quick, "quick", false, "offline demo only: a much smaller, faster version (for tests)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: finetune [flags]\n\nWithout -data it runs the offline MNIST transfer demo.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	c.Seed = *seed
	bad := func(format string, a ...any) error { return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...)) }
	var err error
	if c.Height, c.WidthPx, err = parseSize(*size); err != nil {
		return nil, bad("-size: %v", err)
	}
	if c.Head, err = parseHead(*head); err != nil {
		return nil, bad("-head: %v", err)
	}
	switch c.Depth {
	case 11, 13, 16, 19:
	default:
		return nil, bad("-depth %d: want 11, 13, 16 or 19", c.Depth)
	}
	if c.Width < 0 || c.Width > 4 {
		return nil, bad("-width %g: want 0 (infer) or a multiplier in (0, 4]", c.Width)
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		return nil, bad("-dropout %g: want [0, 1)", c.Dropout)
	}
	switch c.Pooling {
	case "avg", "max", "flatten":
	default:
		return nil, bad("-pooling %q: want avg, max or flatten", c.Pooling)
	}
	if c.Batch < 1 {
		return nil, bad("-batch %d: want at least 1", c.Batch)
	}
	if c.Epochs < 0 || c.FineTuneEpochs < 0 {
		return nil, bad("-epochs and -fine-tune-epochs must not be negative")
	}
	if !(c.LR > 0) || !(c.FineTuneLR > 0) {
		return nil, bad("-lr and -fine-tune-lr must be positive")
	}
	if c.ValidationSplit < 0 || c.ValidationSplit >= 1 {
		return nil, bad("-validation-split %g: want [0, 1)", c.ValidationSplit)
	}
	switch c.Interpolation {
	case "nearest", "bilinear", "bicubic":
	default:
		return nil, bad("-interpolation %q: want nearest, bilinear or bicubic", c.Interpolation)
	}
	// Augmentation: -augment alone is the classic recipe; explicit flags override.
	if c.Shear < 0 {
		c.Shear = 0
		if c.Augment {
			c.Shear = 0.2
		}
	}
	if c.Zoom < 0 {
		c.Zoom = 0
		if c.Augment {
			c.Zoom = 0.2
		}
	}
	switch *hflip {
	case "default":
		c.HFlip = c.Augment
	default:
		if c.HFlip, err = strconv.ParseBool(*hflip); err != nil {
			return nil, bad("-hflip %q: want true or false", *hflip)
		}
	}
	if c.Zoom >= 1 {
		return nil, bad("-zoom %g: want [0, 1)", c.Zoom)
	}
	if c.Shear != 0 || c.Zoom != 0 || c.Rotation != 0 || c.WidthShift != 0 || c.HeightShift != 0 || c.HFlip || c.VFlip {
		c.Augment = true
	}
	return c, nil
}

// parseSize reads "224" or "150x150" (height x width), each side ≥ 32 as
// VGG's five 2x2 poolings need.
func parseSize(s string) (h, w int, err error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "x")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("%q: want N or HxW", s)
	}
	vals := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return 0, 0, fmt.Errorf("%q: want N or HxW", s)
		}
		if v < 32 {
			return 0, 0, fmt.Errorf("%q: each side must be at least 32 pixels (VGG halves it five times)", s)
		}
		if v > 4096 {
			return 0, 0, fmt.Errorf("%q: sides above 4096 pixels are not supported", s)
		}
		vals[i] = v
	}
	if len(vals) == 1 {
		return vals[0], vals[0], nil
	}
	return vals[0], vals[1], nil
}

// parseHead reads "256" or "512,128" (hidden Dense units); "" or "0" means none.
func parseHead(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || s == "none" {
		return nil, nil
	}
	var units []int
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 1 || v > 65536 {
			return nil, fmt.Errorf("%q: want comma-separated unit counts in 1..65536", s)
		}
		units = append(units, v)
	}
	return units, nil
}
