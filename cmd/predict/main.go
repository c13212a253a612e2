// Command predict prints the top-k classes of images for a model saved by
// cmd/finetune, or for Keras's ImageNet VGG with its classifier.
//
//	go run ./cmd/predict -model finetune-out photo.jpg other.png
//	go run ./cmd/predict -weights imagenet [-depth 16] photo.jpg
//
// With -model it reads DIR/model.json (architecture, class names, input
// size, preprocessing) and DIR/model.h5 (or -h5 FILE, e.g. best_model.h5).
// With -weights imagenet (or a Keras include_top .h5 file) it builds VGG
// with its top at 224x224 and names the 1000 ImageNet classes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"

	"github.com/gotransfer/gotransfer/internal/train"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "predict: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// result is one image's ranked classes.
type result struct {
	Path  string
	Top   []train.Ranked
	Names []string // class names by index
}

// run parses the flags, predicts and prints. It returns an error when no
// image could be classified; unreadable images among good ones are reported
// on stderr and skipped.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "folder written by cmd/finetune (model.json + model.h5)")
	h5 := fs.String("h5", "", "with -model: weights file to use instead of model.h5 (e.g. best_model.h5)")
	weights := fs.String("weights", "", "without -model: imagenet, or a Keras VGG include_top .h5 file")
	depth := fs.Int("depth", 16, "with -weights: VGG depth (16 or 19 for imagenet)")
	top := fs.Int("top", 5, "how many classes to print per image")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: predict -model DIR IMAGE...\n       predict -weights imagenet|FILE.h5 IMAGE...\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	images := fs.Args()
	if len(images) == 0 {
		return fmt.Errorf("%w: no image files given", errUsage)
	}
	if (*model == "") == (*weights == "") {
		return fmt.Errorf("%w: give exactly one of -model DIR or -weights imagenet|FILE.h5", errUsage)
	}
	if *top < 1 {
		return fmt.Errorf("%w: -top must be at least 1", errUsage)
	}
	results, err := predict(ctx, *model, *h5, *weights, *depth, *top, images, stderr)
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Fprintf(stdout, "%s\n", r.Path)
		for i, t := range r.Top {
			fmt.Fprintf(stdout, "  %d. %-30s %.4f\n", i+1, r.Names[t.Index], t.Prob)
		}
	}
	return nil
}

// predict classifies images and returns the ranked classes of those that
// could be read, in the order given.
func predict(ctx context.Context, model, h5, weights string, depth, top int, images []string, stderr io.Writer) ([]result, error) {
	var saved *train.Saved
	var names []string
	logits := true
	if model != "" {
		var err error
		if saved, err = train.LoadSaved(model, h5); err != nil {
			return nil, fmt.Errorf("-model %s: %w", model, err)
		}
		names = saved.Spec.Classes
	} else {
		var err error
		if saved, err = imagenetModel(weights, depth); err != nil {
			return nil, err
		}
		for _, c := range vgg.ImageNetClasses() {
			names = append(names, c.Name)
		}
		logits = false
	}
	x, kept, bad, err := train.LoadImages(ctx, saved.Spec, images)
	reportBad(stderr, bad)
	if err != nil {
		return nil, err
	}
	probs := train.Predict(saved.Net, x, logits)
	k := probs.Shape[1]
	if len(names) != k {
		return nil, fmt.Errorf("the model has %d outputs but %d class names", k, len(names))
	}
	var out []result
	for i, p := range kept {
		out = append(out, result{Path: p, Top: train.TopK(probs.Data[i*k:(i+1)*k], top), Names: names})
	}
	return out, nil
}

// reportBad lists skipped files on stderr, sorted.
func reportBad(w io.Writer, bad map[string]string) {
	var paths []string
	for p := range bad {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(w, "predict: skipping %s: %s\n", p, bad[p])
	}
}

// imagenetModel builds VGG with its top (224x224, 1000 classes, softmax)
// and loads the ImageNet include_top weights (or a Keras include_top file).
func imagenetModel(weights string, depth int) (*train.Saved, error) {
	path := weights
	if weights == "imagenet" {
		name := "vgg16"
		if depth == 19 {
			name = "vgg19"
		}
		var err error
		if path, err = vgg.Weights(name, true); err != nil {
			return nil, fmt.Errorf("-weights imagenet: %w", err)
		}
	}
	info, err := vgg.InspectKerasWeights(path)
	if err != nil {
		return nil, fmt.Errorf("-weights %s: %w", path, err)
	}
	if !info.IncludeTop {
		return nil, fmt.Errorf("-weights %s has no classifier (fc1, fc2, predictions): predict needs include_top weights, or use -model with a cmd/finetune folder", path)
	}
	if info.Classes != 1000 {
		return nil, fmt.Errorf("-weights %s predicts %d classes, but only the 1000 ImageNet class names are known", path, info.Classes)
	}
	side := info.InputHW
	if side == 0 {
		return nil, fmt.Errorf("-weights %s: cannot work out the input size from fc1", path)
	}
	cfg := info.Config(side, side, "")
	net, err := vgg.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := vgg.LoadKerasWeights(net, path, vgg.LoadOptions{}); err != nil {
		return nil, err
	}
	spec := &train.Spec{Format: train.SpecFormat, Depth: info.Depth, Width: info.Width, InputShape: [3]int{side, side, 3},
		Preprocessing: train.Preprocessing{Mode: "caffe", Interpolation: "bilinear"}}
	return &train.Saved{Spec: spec, Net: net}, nil
}

var _ = tensor.New
