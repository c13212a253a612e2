// Command features computes VGG bottleneck features (the first step of the
// Keras blog's transfer-learning recipe): images go through the
// convolutional base once and the base's outputs are saved as a .npy file,
// on which a small classifier can then be trained cheaply.
//
// Usage:
//
//	features -weights imagenet|FILE.h5 [-depth 16] [-size 224]
//	    [-pooling none|avg|max] [-width W] [-batch 16] -o out.npy PATH...
//	features ... -shard I/N|auto [-shards N] -o DIR FOLDER
//
// PATH is either one folder of class subfolders (Keras flow_from_directory
// layout: DIR/<class>/<image>, walked recursively) or one or more image
// files. Each image is decoded (by its content: JPEG, PNG, GIF, BMP, TIFF,
// WebP, PNM), converted to RGB, resized to size×size with bilinear
// interpolation (PIL's), and preprocessed in Keras's 'caffe' mode
// (RGB→BGR minus the ImageNet means; no 1/255 rescaling).
//
// Outputs (every file written atomically, mode 0644; format in
// internal/shards):
//
//	out.npy              float32 features, (N, h, w, C) NHWC with -pooling none
//	                     (h = w = size/32 for VGG, e.g. (N, 7, 7, 512) at 224),
//	                     or (N, C) with avg/max pooling
//	out_files.jsonl      one JSON object per row: {"row":0,"index":3,"path":"…","label":1}
//	                     (label only for folder input)
//	out_labels.npy       (folder input) int64 class index of each row
//	out_classes.jsonl    (folder input) {"index":0,"name":"ants"} per class
//	out_manifest.json    listing fingerprint, weights MD5, settings, counts,
//	                     skipped files and each file's SHA-256; written last
//
// In a folder, unreadable images are skipped with a warning (as Keras does),
// named in the manifest and left out of every output; with explicit files,
// any unreadable file is an error.
//
// # Sharding (many processes or a Kubernetes Indexed Job)
//
// With -shard I/N the folder's sorted listing is split N ways and this
// process computes shard I: listing positions I, I+N, I+2N, … (disjoint,
// covering, balanced). -o then names a folder, which receives
// shard-0000I-of-0000N.npy, _labels.npy, _files.jsonl, _classes.jsonl and
// _manifest.json. -shard auto takes I from JOB_COMPLETION_INDEX (set by
// Kubernetes in an Indexed Job's pods) and N from -shards or from
// JOB_COMPLETIONS (Kubernetes does not pass the completion count; set it in
// the Job manifest). A re-run shard removes its manifest first and
// overwrites its files atomically. internal/shards merges a folder of
// shards (and cmd/finetune -features DIR reads it); the merged features
// equal one unsharded run's bit for bit, because every forward pass has
// exactly -batch images (the last one padded).
//
// -weights imagenet uses Keras's ImageNet notop file (VGG16 or VGG19),
// found in $KERAS_HOME/models or ~/.keras/models or downloaded there. With
// -weights FILE.h5 it works offline; depth and width default to what the
// file holds (so reduced-width Keras-layout files need no extra flags), and
// a file with the classifier top (fc1, fc2, predictions) also works: the top
// is ignored.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/gotransfer/gotransfer/internal/shards"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/vgg"
)

// options are the command-line flags.
type options struct {
	weights string
	depth   int
	size    int
	pooling string
	width   float64
	batch   int
	out     string
	shard   string // "", "I/N" or "auto"
	shards  int    // N for -shard auto
	paths   []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := runCtx(ctx, os.Args[1:], os.Stderr, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "features:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("features", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.weights, "weights", "", "imagenet, or a Keras HDF5 weights file (required)")
	fs.IntVar(&o.depth, "depth", 0, "VGG depth 11, 13, 16 or 19 (default: from the weights file; 16 for imagenet)")
	fs.IntVar(&o.size, "size", 224, "images are resized to size x size (at least 32)")
	fs.StringVar(&o.pooling, "pooling", "none", "none (N,h,w,C features), avg or max (N,C)")
	fs.Float64Var(&o.width, "width", 0, "channel multiplier (default: from the weights file; 1 for imagenet)")
	fs.IntVar(&o.batch, "batch", 16, "images per forward pass (part of the manifest: shards merge only with equal -batch)")
	fs.StringVar(&o.out, "o", "", "output .npy file (required); with -shard, the output folder")
	fs.StringVar(&o.shard, "shard", "", "compute shard I/N of a folder's listing (every N-th file from I), or auto: I from $JOB_COMPLETION_INDEX")
	fs.IntVar(&o.shards, "shards", 0, "with -shard auto: N, the Indexed Job's completions (default $JOB_COMPLETIONS)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: features -weights imagenet|FILE.h5 [-depth 16] [-size 224] [-pooling none|avg|max] [-width W] -o out.npy PATH...")
		fmt.Fprintln(stderr, "       features -weights ... -shard I/N|auto [-shards N] -o DIR FOLDER")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	o.paths = fs.Args()
	bad := func(format string, a ...any) (options, error) {
		return o, fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
	}
	switch {
	case o.weights == "":
		return bad("-weights is required (imagenet or a .h5 file)")
	case o.out == "" && o.shard == "":
		return bad("-o is required (output .npy file)")
	case o.out == "":
		return bad("-o is required (with -shard: the output folder)")
	case o.shard == "" && !strings.HasSuffix(o.out, ".npy"):
		return bad("-o %q: the output must end in .npy", o.out)
	case o.shard != "" && strings.HasSuffix(o.out, ".npy"):
		return bad("-o %q: with -shard, -o names a folder (it receives shard-I-of-N.npy and its companions)", o.out)
	case len(o.paths) == 0:
		return bad("no input: give a folder of class subfolders or image files")
	case o.size < 32:
		return bad("-size %d: must be at least 32", o.size)
	case o.batch < 1:
		return bad("-batch %d: must be at least 1", o.batch)
	case o.width < 0:
		return bad("-width %v: must be positive", o.width)
	case o.shards < 0:
		return bad("-shards %d: must be positive", o.shards)
	case o.shards > 0 && o.shard != "auto":
		return bad("-shards goes with -shard auto (with -shard I/N, N is given)")
	}
	switch o.pooling {
	case "none", "avg", "max":
	default:
		return bad("-pooling %q: want none, avg or max", o.pooling)
	}
	return o, nil
}

// resolveShard turns -shard into a Shard (Whole when not sharding).
func resolveShard(o options, getenv func(string) string) (shards.Shard, error) {
	switch o.shard {
	case "":
		return shards.Whole, nil
	case "auto":
		return shards.AutoShard(o.shards, getenv)
	default:
		s, err := shards.ParseShard(o.shard)
		if err != nil {
			return s, fmt.Errorf("%w: -%v", errUsage, err)
		}
		return s, nil
	}
}

// buildModel resolves the weights file and builds a matching base.
func buildModel(o options, stderr io.Writer) (*nn.Model, vgg.Config, string, error) {
	path := o.weights
	if o.weights == "imagenet" {
		depth := o.depth
		if depth == 0 {
			depth = 16
		}
		wf, err := vgg.ImageNetWeightFile(depth, false)
		if err != nil {
			return nil, vgg.Config{}, "", fmt.Errorf("-depth %d: %w", depth, err)
		}
		f := vgg.Fetcher{Progress: stderr}
		if path, err = f.Fetch(wf); err != nil {
			return nil, vgg.Config{}, "", err
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, vgg.Config{}, "", fmt.Errorf("-weights: %w", err)
	}
	info, err := vgg.InspectKerasWeights(path)
	if err != nil {
		return nil, vgg.Config{}, "", err
	}
	cfg := info.Config(o.size, o.size, o.pooling)
	cfg.IncludeTop = false
	cfg.TopChannels, cfg.Classes = 0, 0
	if o.depth != 0 {
		cfg.Depth = o.depth
	}
	if o.width != 0 { // explicit width: build from it, not from the file's shapes
		cfg.Width, cfg.Channels = o.width, [5]int{}
	}
	m, err := vgg.New(cfg)
	if err != nil {
		return nil, cfg, "", err
	}
	if err := vgg.LoadKerasWeights(m, path, vgg.LoadOptions{IgnoreExtra: true}); err != nil {
		return nil, cfg, "", err
	}
	return m, cfg, path, nil
}

// absPath is p made absolute for the manifest ("" stays "").
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// run is runCtx without cancellation, reading the real environment.
func run(args []string, stderr io.Writer) error {
	return runCtx(context.Background(), args, stderr, os.Getenv)
}

func runCtx(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	shard, err := resolveShard(o, getenv)
	if err != nil {
		return err
	}
	folder := ""
	if st, err := os.Stat(o.paths[0]); err == nil && st.IsDir() {
		if len(o.paths) > 1 {
			return fmt.Errorf("%w: give one folder of class subfolders, or image files; got folder %s and %d more paths", errUsage, o.paths[0], len(o.paths)-1)
		}
		folder = o.paths[0]
	} else {
		if o.shard != "" {
			return fmt.Errorf("%w: -shard needs one folder of class subfolders, not image files", errUsage)
		}
		for _, p := range o.paths {
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			if st.IsDir() {
				return fmt.Errorf("%w: %s is a folder: give one folder alone, or only image files", errUsage, p)
			}
		}
	}

	// The listing: a folder's flow_from_directory files, or the arguments.
	var listing *shards.Listing
	if folder != "" {
		if listing, err = shards.List(folder, stderr); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Found %d images belonging to %d classes.\n", len(listing.Files), len(listing.Classes))
	} else {
		listing = &shards.Listing{Files: o.paths, Labels: make([]int, len(o.paths))}
	}
	base := strings.TrimSuffix(o.out, ".npy")
	if o.shard != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return fmt.Errorf("-o: %w", err)
		}
		base = filepath.Join(o.out, shard.Base())
	}

	m, cfg, wpath, err := buildModel(o, stderr)
	if err != nil {
		return err
	}
	sum, err := shards.WeightsMD5(wpath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "features: %s, weights %s, input %dx%d, output %v per image\n", m.Name(), wpath, o.size, o.size, m.OutputShape(1)[1:])
	if err := shards.Begin(base); err != nil {
		return err
	}
	positions := shard.Positions(len(listing.Files))
	if o.shard != "" {
		fmt.Fprintf(stderr, "features: shard %s: %d of %d files\n", shard, len(positions), len(listing.Files))
	}
	res, err := extract(ctx, m, o, listing, positions, stderr)
	if err != nil {
		return err
	}
	if folder == "" && len(res.skipped) > 0 {
		return fmt.Errorf("cannot read %s: %s", res.skipped[0].Path, res.skipped[0].Reason)
	}
	if len(res.rows) == 0 {
		if o.shard == "" {
			return errors.New("no image could be read")
		}
		// A shard may hold no image (more shards than files, or only
		// unreadable ones): it still writes its empty files and manifest,
		// so that the set is complete and the Job's index succeeds.
		fmt.Fprintf(stderr, "features: shard %s has no readable image (%d positions)\n", shard, len(positions))
	}
	out := shards.Output{
		Base: base,
		Manifest: shards.Manifest{
			Shard: shard.Index, Shards: shard.Count,
			Listing: shards.ListingInfo{Fingerprint: listing.Fingerprint(), Root: absPath(folder),
				Files: len(listing.Files), Classes: len(listing.Classes)},
			Settings: shards.Settings{Model: fmt.Sprintf("vgg%d", cfg.Depth), Width: cfg.Width,
				InputSize: [2]int{o.size, o.size}, Precision: "fp32", Pooling: o.pooling,
				Preprocessing: "caffe", Interpolation: "bilinear", Batch: o.batch, WeightsMD5: sum},
			WeightsFile: absPath(wpath),
			Skipped:     res.skipped,
		},
		Features: res.feats,
		Shape:    m.OutputShape(len(res.rows)),
		Rows:     res.rows,
	}
	if folder != "" {
		out.Classes = listing.Classes
	}
	if err := shards.Write(out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "features: wrote %s %v with %s, %s", base+shards.FeaturesSuffix, out.Shape, filepath.Base(base+shards.FilesSuffix), filepath.Base(base+shards.ManifestSuffix))
	if folder != "" {
		fmt.Fprintf(stderr, ", %s, %s (%d classes)", filepath.Base(base+shards.LabelsSuffix), filepath.Base(base+shards.ClassesSuffix), len(listing.Classes))
	}
	fmt.Fprintln(stderr)
	return nil
}
