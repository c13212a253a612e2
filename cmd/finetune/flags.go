package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gotransfer/gotransfer/optim"
	"github.com/gotransfer/gotransfer/train"
)

// config is every flag of the command, parsed and checked.
type config struct {
	Data            string  // -data: folder with train/ and validation|val|valid/, or one folder + -validation-split
	Features        string  // -features: folder of feature shards written by cmd/features
	ValidationSplit float64 // -validation-split
	Weights         string  // -weights imagenet|FILE.h5|none
	Depth           int     // -depth
	Width           float64 // -width-multiplier (0 = infer from the weights file, 1 for none/imagenet)
	Height, WidthPx int     // -size
	Head            []int   // -head
	Dropout         float64 // -dropout
	Pooling         string  // -pooling avg|max|flatten
	Batch           int
	Epochs          int
	LR              float64
	Optimizer       string  // -optimizer adam|sgd|adamw
	Momentum        float64 // -momentum (sgd)
	WeightDecay     float64 // -weight-decay (adamw)
	Seed            uint64
	Workers         int
	DecodeMemory    int64 // -decode-memory in bytes (0 = dataset's default)
	Interpolation   string

	Augment                 bool
	Shear, Zoom, Rotation   float64
	WidthShift, HeightShift float64
	HFlip, VFlip            bool
	Brightness              [2]float64 // -brightness-range LO,HI
	ChannelShift            float64    // -channel-shift-range

	FineTuneFrom   string
	FineTuneEpochs int
	FineTuneLR     float64

	Monitor       string  // -monitor val_loss|val_accuracy
	EarlyStopping int     // -early-stopping PATIENCE (0 = off)
	ReduceLR      int     // -reduce-lr PATIENCE (0 = off)
	ReduceFactor  float64 // -reduce-lr's FACTOR
	ClassWeight   string  // -class-weight balanced|none

	Out          string
	Resume       bool
	CacheFeature bool
	CacheImages  bool

	// Default-run knobs (only without -data).
	Quick bool // -quick: a much smaller offline default for tests

	// set holds the flags given on the command line with their values as
	// typed (after the deprecated -width is mapped to -width-multiplier).
	set map[string]string
}

// errUsage marks a bad command line; main prints it with the usage and exits 2.
var errUsage = errors.New("usage")

// runtimeFlags may differ between a run and its -resume: they change where
// and how fast the run goes, not what it computes.
var runtimeFlags = map[string]bool{"resume": true, "out": true, "workers": true, "cache-images": true, "decode-memory": true}

// augmentDefaults are the classic recipe's values that -augment alone
// applies to the flags not given (Keras blog: shear 0.2, zoom 0.2,
// horizontal flip).
var augmentDefaults = map[string]string{"shear": "0.2", "zoom": "0.2", "hflip": "true"}

// newFlagSet declares every flag on c.
func newFlagSet(c *config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("finetune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Data, "data", "", "image folder: DIR/train/<class>/* with DIR/validation/, DIR/val/ or DIR/valid/ beside it, or DIR/<class>/* with -validation-split; empty runs the offline MNIST demo")
	fs.StringVar(&c.Features, "features", "", "train the head from the feature shards cmd/features wrote in this folder (or in its train/ and validation/ subfolders) instead of images; needs the same -weights")
	fs.Float64Var(&c.ValidationSplit, "validation-split", 0, "fraction of each class held out for validation when -data has no train/ folder (Keras validation_split)")
	fs.StringVar(&c.Weights, "weights", "imagenet", "base weights: imagenet (Keras's file, from ~/.keras/models or downloaded), a Keras .h5 file, or none (random init)")
	fs.IntVar(&c.Depth, "depth", 16, "VGG depth: 11, 13, 16 or 19")
	fs.Float64Var(&c.Width, "width-multiplier", 0, "channel multiplier of the VGG base (1 = real VGG, 0.25 = a quarter of the channels); 0 infers it from the weights file")
	fs.Var(&textValue{parse: func(s string) (err error) {
		c.Width, err = strconv.ParseFloat(s, 64)
		return err
	}}, "width", "deprecated name of -width-multiplier (the channel `MULTIPLIER`, not pixels)")
	fs.Var(&textValue{raw: "224", parse: func(s string) (err error) {
		c.Height, c.WidthPx, err = parseSize(s)
		return err
	}}, "size", "input size: `N|HxW`, each side at least 32 pixels")
	fs.Var(&textValue{raw: "256", parse: func(s string) (err error) {
		c.Head, err = parseHead(s)
		return err
	}}, "head", "`UNITS` of the new head's hidden Dense(relu) layers, comma-separated; none for no hidden layer")
	fs.Float64Var(&c.Dropout, "dropout", 0, "dropout rate after each hidden head layer (0 = none)")
	fs.StringVar(&c.Pooling, "pooling", "avg", "how the head reduces the base's feature map: avg (GlobalAveragePooling2D), max or flatten")
	fs.IntVar(&c.Batch, "batch", 16, "batch size")
	fs.IntVar(&c.Epochs, "epochs", 10, "epochs of head training (frozen base)")
	fs.Float64Var(&c.LR, "lr", 1e-3, "learning rate of head training")
	fs.StringVar(&c.Optimizer, "optimizer", "adam", "optimizer of both stages: adam, sgd or adamw (Keras's defaults: Adam ε 1e-7; AdamW decoupled decay -weight-decay)")
	fs.Float64Var(&c.Momentum, "momentum", 0.9, "momentum of -optimizer sgd")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0.004, "decoupled weight decay of -optimizer adamw (Keras's AdamW default)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (weights init, shuffling, augmentation, dropout)")
	fs.IntVar(&c.Workers, "workers", 0, "image decoding goroutines (0 = GOMAXPROCS)")
	fs.Var(&textValue{raw: "1GiB", parse: func(s string) (err error) {
		c.DecodeMemory, err = parseBytes(s)
		return err
	}}, "decode-memory", "`SIZE` of the memory all decoding workers may use at once, e.g. 512MiB or 2GiB; larger images wait, an image needing more is skipped")
	fs.StringVar(&c.Interpolation, "interpolation", "nearest", "resize at load time: nearest (Keras flow_from_directory's default), bilinear or bicubic")
	fs.BoolVar(&c.Augment, "augment", false, "augment training images; alone it is the classic recipe: -shear 0.2 -zoom 0.2 -hflip (flags given explicitly win)")
	fs.Float64Var(&c.Shear, "shear", 0, "shear range in degrees (Keras shear_range; 0.2 with -augment)")
	fs.Float64Var(&c.Zoom, "zoom", 0, "zoom range z: scale in [1-z, 1+z] (0.2 with -augment)")
	fs.Float64Var(&c.Rotation, "rotation", 0, "rotation range in degrees")
	fs.Float64Var(&c.WidthShift, "width-shift", 0, "horizontal shift: fraction of the width (<1) or pixels")
	fs.Float64Var(&c.HeightShift, "height-shift", 0, "vertical shift: fraction of the height (<1) or pixels")
	fs.BoolVar(&c.HFlip, "hflip", false, "random horizontal flips (true with -augment)")
	fs.BoolVar(&c.VFlip, "vflip", false, "random vertical flips")
	fs.Var(&textValue{parse: func(s string) (err error) {
		c.Brightness, err = parsePair(s)
		return err
	}}, "brightness-range", "`LO,HI`: multiply brightness by a factor drawn from [LO, HI) (Keras brightness_range, PIL's ImageEnhance.Brightness)")
	fs.Float64Var(&c.ChannelShift, "channel-shift-range", 0, "add one intensity in [-r, r] (0..255 scale) to every channel (Keras channel_shift_range)")
	fs.StringVar(&c.FineTuneFrom, "fine-tune-from", "block5_conv1", "second stage: unfreeze the base from this layer up")
	fs.IntVar(&c.FineTuneEpochs, "fine-tune-epochs", 0, "second stage epochs (0 = no second stage)")
	fs.Float64Var(&c.FineTuneLR, "fine-tune-lr", 1e-5, "second stage learning rate")
	fs.StringVar(&c.Monitor, "monitor", "val_accuracy", "metric that picks best_model.h5 and drives -early-stopping and -reduce-lr: val_accuracy or val_loss (the training metric when there is no validation data)")
	fs.IntVar(&c.EarlyStopping, "early-stopping", 0, "stop a stage after PATIENCE epochs without improvement of -monitor and restore its best weights (Keras EarlyStopping; 0 = off)")
	fs.Var(&textValue{parse: func(s string) error { return parseReduceLR(s, c) }},
		"reduce-lr", "`PATIENCE[,FACTOR]`: multiply the learning rate by FACTOR (0.1 if not given) after PATIENCE epochs without improvement of -monitor (Keras ReduceLROnPlateau; off by default)")
	fs.StringVar(&c.ClassWeight, "class-weight", "none", "balanced: weight each class's loss by N/(K·n_class) (Keras class_weight, sklearn's balanced); none")
	fs.StringVar(&c.Out, "out", "", "output folder (default finetune-out)")
	fs.BoolVar(&c.Resume, "resume", false, "continue the interrupted run in -out (alone: with the flags saved in its checkpoint)")
	fs.BoolVar(&c.CacheFeature, "cache-features", true, "with a frozen base and no augmentation, compute the base's features once and train the head on them")
	fs.BoolVar(&c.CacheImages, "cache-images", true, "keep decoded, resized images in memory after the first epoch")
	fs.BoolVar(&c.Quick, "quick", false, "offline demo only: a much smaller, faster version (for tests)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: finetune [flags]\n\nWithout -data it runs the offline MNIST transfer demo.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// textValue is a flag parsed by a function that remembers the text it was
// given, so -h shows its default and a checkpoint records it as typed.
type textValue struct {
	raw   string
	parse func(string) error
}

func (v *textValue) String() string {
	if v == nil {
		return ""
	}
	return v.raw
}

func (v *textValue) Set(s string) error {
	if err := v.parse(s); err != nil {
		return err
	}
	v.raw = s
	return nil
}

// parseFlags parses args into a config. It returns errUsage-wrapped errors
// for bad values so main can exit with status 2.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{Height: 224, WidthPx: 224, Head: []int{256}} // -size and -head defaults
	fs := newFlagSet(c, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	c.set = map[string]string{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = f.Value.String() })
	if v, ok := c.set["width"]; ok {
		fmt.Fprintln(stderr, "finetune: -width is deprecated (it is the channel multiplier, not a size in pixels): use -width-multiplier")
		if w, dup := c.set["width-multiplier"]; dup && w != v {
			return nil, fmt.Errorf("%w: -width %s and -width-multiplier %s disagree", errUsage, v, w)
		}
		delete(c.set, "width")
		c.set["width-multiplier"] = v
	}
	// -augment alone is the classic recipe; explicit flags override.
	if c.Augment {
		for name, v := range augmentDefaults {
			if _, given := c.set[name]; !given {
				if err := fs.Set(name, v); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, nil
}

// check validates the parsed values.
func (c *config) check() error {
	switch c.Depth {
	case 11, 13, 16, 19:
	default:
		return fmt.Errorf("-depth %d: want 11, 13, 16 or 19", c.Depth)
	}
	if c.Width < 0 || c.Width > 4 {
		return fmt.Errorf("-width-multiplier %g: want 0 (infer) or a multiplier in (0, 4]", c.Width)
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		return fmt.Errorf("-dropout %g: want [0, 1)", c.Dropout)
	}
	switch c.Pooling {
	case "avg", "max", "flatten":
	default:
		return fmt.Errorf("-pooling %q: want avg, max or flatten", c.Pooling)
	}
	if c.Batch < 1 {
		return fmt.Errorf("-batch %d: want at least 1", c.Batch)
	}
	if c.Epochs < 0 || c.FineTuneEpochs < 0 {
		return fmt.Errorf("-epochs and -fine-tune-epochs must not be negative")
	}
	if !(c.LR > 0) || !(c.FineTuneLR > 0) {
		return fmt.Errorf("-lr and -fine-tune-lr must be positive")
	}
	if _, err := optim.New(c.Optimizer, optim.Settings{LR: c.LR}); err != nil {
		return fmt.Errorf("-%v", err)
	}
	if c.Momentum < 0 || c.Momentum >= 1 || c.WeightDecay < 0 || c.WeightDecay >= 1 {
		return fmt.Errorf("-momentum %g and -weight-decay %g: want [0, 1)", c.Momentum, c.WeightDecay)
	}
	if c.ValidationSplit < 0 || c.ValidationSplit >= 1 {
		return fmt.Errorf("-validation-split %g: want [0, 1)", c.ValidationSplit)
	}
	switch c.Interpolation {
	case "nearest", "bilinear", "bicubic":
	default:
		return fmt.Errorf("-interpolation %q: want nearest, bilinear or bicubic", c.Interpolation)
	}
	if c.Zoom < 0 || c.Zoom >= 1 {
		return fmt.Errorf("-zoom %g: want [0, 1)", c.Zoom)
	}
	if c.Shear < 0 || c.Rotation < 0 || c.WidthShift < 0 || c.HeightShift < 0 || c.ChannelShift < 0 {
		return fmt.Errorf("augmentation ranges must not be negative")
	}
	if c.Monitor != "val_accuracy" && c.Monitor != "val_loss" {
		return fmt.Errorf("-monitor %q: want val_accuracy or val_loss", c.Monitor)
	}
	if c.EarlyStopping < 0 {
		return fmt.Errorf("-early-stopping %d: want a patience of at least 1 epoch (0 = off)", c.EarlyStopping)
	}
	if c.ClassWeight != "balanced" && c.ClassWeight != "none" {
		return fmt.Errorf("-class-weight %q: want balanced or none", c.ClassWeight)
	}
	if c.Features != "" && c.Data != "" {
		return fmt.Errorf("-features and -data exclude each other: the shards replace the images")
	}
	if c.Shear != 0 || c.Zoom != 0 || c.Rotation != 0 || c.WidthShift != 0 || c.HeightShift != 0 || c.HFlip || c.VFlip ||
		c.Brightness != [2]float64{} || c.ChannelShift != 0 {
		c.Augment = true
	}
	return nil
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

// parseHead reads "256" or "512,128" (hidden Dense units); "", "0" or
// "none" mean none.
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

// parsePair reads "LO,HI" with 0 ≤ LO ≤ HI.
func parsePair(s string) ([2]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return [2]float64{}, fmt.Errorf("%q: want LO,HI such as 0.8,1.2", s)
	}
	var p [2]float64
	for i, v := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || math.IsInf(f, 0) {
			return p, fmt.Errorf("%q: want LO,HI such as 0.8,1.2", s)
		}
		p[i] = f
	}
	if p[0] > p[1] {
		return p, fmt.Errorf("%q: LO above HI", s)
	}
	return p, nil
}

// parseReduceLR reads "PATIENCE[,FACTOR]" into c.
func parseReduceLR(s string, c *config) error {
	parts := strings.Split(s, ",")
	p, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || p < 1 || len(parts) > 2 {
		return fmt.Errorf("%q: want PATIENCE[,FACTOR] such as 3 or 3,0.5", s)
	}
	c.ReduceLR, c.ReduceFactor = p, 0.1
	if len(parts) == 2 {
		f, err := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		if err != nil || !(f > 0 && f < 1) {
			return fmt.Errorf("%q: FACTOR must be in (0, 1)", s)
		}
		c.ReduceFactor = f
	}
	return nil
}

// parseBytes reads a size such as 1GiB, 512MiB, 300MB or a byte count.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*mult > 1<<50 {
		return 0, fmt.Errorf("%q: want a size such as 512MiB or 2GiB", s)
	}
	if v*mult < 64<<20 {
		return 0, fmt.Errorf("%q: below 64MiB, most photos could not be decoded", s)
	}
	return int64(v * mult), nil
}

// resumeConfig turns `-resume` into the run to continue: the flags saved in
// the checkpoint, with the runtime flags of this command line. A flag given
// now with another value than the saved run's is refused, naming each such
// flag with both values.
func resumeConfig(now *config, saved map[string]string, stderr io.Writer) (*config, error) {
	defaults := map[string]string{}
	newFlagSet(&config{}, io.Discard).VisitAll(func(f *flag.Flag) { defaults[f.Name] = f.DefValue })
	var diffs []string
	for name, v := range now.set {
		if runtimeFlags[name] {
			continue
		}
		was, ok := saved[name]
		if !ok {
			was = defaults[name]
		}
		if !sameFlagValue(v, was) {
			diffs = append(diffs, fmt.Sprintf("-%s is %s now but was %s", name, v, was))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return nil, fmt.Errorf("-resume continues a run with its own flags; these differ: %s (drop them, or start afresh without -resume)", strings.Join(diffs, "; "))
	}
	var args []string
	for name, v := range saved {
		if !runtimeFlags[name] {
			args = append(args, "-"+name+"="+v)
		}
	}
	for name, v := range now.set {
		if runtimeFlags[name] {
			args = append(args, "-"+name+"="+v)
		}
	}
	sort.Strings(args)
	c, err := parseFlags(args, stderr)
	if err != nil {
		return nil, fmt.Errorf("flags saved in the checkpoint: %w", err)
	}
	return c, nil
}

// sameFlagValue compares two flag values as typed, numerically when both
// are numbers (so 1e-3 equals 0.001).
func sameFlagValue(a, b string) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && x == y
}

// newOptimizer returns the -optimizer at learning rate lr.
func (c *config) newOptimizer(lr float64) (optim.Optimizer, error) {
	s := optim.Settings{LR: lr}
	switch c.Optimizer {
	case "sgd":
		s.Momentum = c.Momentum
	case "adamw":
		s.WeightDecay = c.WeightDecay
	}
	return optim.New(c.Optimizer, s)
}

// callbacks returns the -early-stopping and -reduce-lr callbacks (fresh
// state, Keras resets both at every fit).
func (c *config) callbacks() []train.Callback {
	var cbs []train.Callback
	if c.EarlyStopping > 0 {
		cbs = append(cbs, &train.EarlyStopping{Monitor: c.Monitor, Patience: c.EarlyStopping, RestoreBestWeights: true})
	}
	if c.ReduceLR > 0 {
		cbs = append(cbs, &train.ReduceLROnPlateau{Monitor: c.Monitor, Patience: c.ReduceLR, Factor: c.ReduceFactor, MinDelta: 1e-4})
	}
	return cbs
}
