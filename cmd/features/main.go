// Command features computes VGG bottleneck features (the first step of the
// Keras blog's transfer-learning recipe): images go through the
// convolutional base once and the base's outputs are saved as a .npy file,
// on which a small classifier can then be trained cheaply.
//
// Usage:
//
//	go run ./cmd/features -weights imagenet|FILE.h5 [-depth 16] [-size 224]
//	    [-pooling none|avg|max] [-width W] [-batch 16] -o out.npy PATH...
//
// PATH is either one folder of class subfolders (Keras flow_from_directory
// layout: DIR/<class>/<image>) or one or more image files. Each image is
// decoded (by its content: JPEG, PNG, GIF, BMP, TIFF, WebP, PNM), converted
// to RGB, resized to size×size with bilinear interpolation (PIL's), and
// preprocessed in Keras's 'caffe' mode (RGB→BGR minus the ImageNet means;
// no 1/255 rescaling).
//
// Outputs (every file written atomically):
//
//	out.npy           float32 features, (N, h, w, C) NHWC with -pooling none
//	                  (h = w = size/32 for VGG, e.g. (N, 7, 7, 512) at 224),
//	                  or (N, C) with avg/max pooling
//	out_files.txt     the source image of each row, one path per line
//	out_labels.npy    (folder input) int64 class index of each row
//	out_classes.txt   (folder input) class names, line i = class index i
//
// In a folder, unreadable images are skipped with a warning (as Keras
// does) and left out of every output; with explicit files, any unreadable
// file is an error.
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
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
	"github.com/gotransfer/gotransfer/vgg/npy"
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
	paths   []string
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "features:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("features", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.weights, "weights", "", "imagenet, or a Keras HDF5 weights file (required)")
	fs.IntVar(&o.depth, "depth", 0, "VGG depth 11, 13, 16 or 19 (default: from the weights file; 16 for imagenet)")
	fs.IntVar(&o.size, "size", 224, "images are resized to size x size (at least 32)")
	fs.StringVar(&o.pooling, "pooling", "none", "none (N,h,w,C features), avg or max (N,C)")
	fs.Float64Var(&o.width, "width", 0, "channel multiplier (default: from the weights file; 1 for imagenet)")
	fs.IntVar(&o.batch, "batch", 16, "images per forward pass")
	fs.StringVar(&o.out, "o", "", "output .npy file (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: features -weights imagenet|FILE.h5 [-depth 16] [-size 224] [-pooling none|avg|max] [-width W] -o out.npy PATH...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.paths = fs.Args()
	switch {
	case o.weights == "":
		return o, errors.New("-weights is required (imagenet or a .h5 file)")
	case o.out == "":
		return o, errors.New("-o is required (output .npy file)")
	case !strings.HasSuffix(o.out, ".npy"):
		return o, fmt.Errorf("-o %q: the output must end in .npy", o.out)
	case len(o.paths) == 0:
		return o, errors.New("no input: give a folder of class subfolders or image files")
	case o.size < 32:
		return o, fmt.Errorf("-size %d: must be at least 32", o.size)
	case o.batch < 1:
		return o, fmt.Errorf("-batch %d: must be at least 1", o.batch)
	case o.width < 0:
		return o, fmt.Errorf("-width %v: must be positive", o.width)
	}
	switch o.pooling {
	case "none", "avg", "max":
	default:
		return o, fmt.Errorf("-pooling %q: want none, avg or max", o.pooling)
	}
	return o, nil
}

// buildModel resolves the weights file and builds a matching base.
func buildModel(o options, stderr io.Writer) (*nn.Model, string, error) {
	path := o.weights
	if o.weights == "imagenet" {
		depth := o.depth
		if depth == 0 {
			depth = 16
		}
		wf, err := vgg.ImageNetWeightFile(depth, false)
		if err != nil {
			return nil, "", fmt.Errorf("-depth %d: %w", depth, err)
		}
		f := vgg.Fetcher{Progress: stderr}
		if path, err = f.Fetch(wf); err != nil {
			return nil, "", err
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, "", fmt.Errorf("-weights: %w", err)
	}
	info, err := vgg.InspectKerasWeights(path)
	if err != nil {
		return nil, "", err
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
		return nil, "", err
	}
	if err := vgg.LoadKerasWeights(m, path, vgg.LoadOptions{IgnoreExtra: true}); err != nil {
		return nil, "", err
	}
	return m, path, nil
}

func run(args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var dir string
	files := o.paths
	if st, err := os.Stat(o.paths[0]); err == nil && st.IsDir() {
		if len(o.paths) > 1 {
			return fmt.Errorf("give one folder of class subfolders, or image files; got folder %s and %d more paths", o.paths[0], len(o.paths)-1)
		}
		dir, files = o.paths[0], nil
	} else {
		for _, p := range o.paths {
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			if st.IsDir() {
				return fmt.Errorf("%s is a folder: give one folder alone, or only image files", p)
			}
		}
	}
	m, wpath, err := buildModel(o, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "features: %s, weights %s, input %dx%d, output %v per image\n", m.Name(), wpath, o.size, o.size, m.OutputShape(1)[1:])

	var d *dataset.Directory
	var cleanup func()
	if dir != "" {
		d, err = openFolder(dir, o, stderr)
	} else {
		d, cleanup, err = openFiles(files, o)
		if cleanup != nil {
			defer cleanup()
		}
	}
	if err != nil {
		return err
	}
	feats, labels, rows, err := extract(m, d, o.batch, stderr)
	if err != nil {
		return err
	}
	if dir == "" {
		if sk := d.Skipped(); len(sk) > 0 {
			return fmt.Errorf("cannot read %s: %s", files[linkIndex(sk[0].Path, len(files))], sk[0].Reason)
		}
	}
	srcs := make([]string, len(rows))
	for i, r := range rows {
		if dir != "" {
			srcs[i] = d.Files()[r]
		} else {
			srcs[i] = files[r]
		}
	}
	return writeOutputs(o.out, m.OutputShape(len(rows)), feats, srcs, labels, d.ClassNames(), dir != "", stderr)
}

// linkIndex recovers i from openFiles's link name "<i>.png" (0 if unparsable).
func linkIndex(link string, n int) int {
	i, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(link), ".png"))
	if err != nil || i < 0 || i >= n {
		return 0
	}
	return i
}

func datasetOptions(o options, log io.Writer) dataset.Options {
	return dataset.Options{
		TargetSize:    [2]int{o.size, o.size},
		ClassMode:     "none",
		BatchSize:     o.batch,
		Shuffle:       false,
		Interpolation: "bilinear",
		Preprocess:    vgg.PreprocessHook,
		Log:           log,
	}
}

// openFolder lists DIR/<class>/<image> like Keras's flow_from_directory.
func openFolder(dir string, o options, stderr io.Writer) (*dataset.Directory, error) {
	return dataset.FromDirectory(dir, datasetOptions(o, stderr))
}

// openFiles presents explicit image files to the dataset package through a
// temporary folder of numbered symbolic links (one class "images"), so that
// files and folders share one decoder; row i is files[i].
func openFiles(files []string, o options) (*dataset.Directory, func(), error) {
	tmp, err := os.MkdirTemp("", "features-*")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	cls := filepath.Join(tmp, "images")
	if err := os.Mkdir(cls, 0o755); err != nil {
		return nil, cleanup, err
	}
	for i, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, cleanup, err
		}
		// the dataset package lists only image extensions; content decides the format
		link := filepath.Join(cls, fmt.Sprintf("%09d.png", i))
		if err := os.Symlink(abs, link); err != nil {
			return nil, cleanup, fmt.Errorf("%s: %w", f, err)
		}
	}
	d, err := dataset.FromDirectory(tmp, datasetOptions(o, io.Discard))
	if err != nil {
		return nil, cleanup, err
	}
	if sk := d.Skipped(); len(sk) > 0 {
		return nil, cleanup, fmt.Errorf("cannot read %s: %s", files[linkIndex(sk[0].Path, len(files))], sk[0].Reason)
	}
	return d, cleanup, nil
}

// extract runs every image of d through m; it returns the features, the
// labels and each row's index in d.Files().
func extract(m *nn.Model, d *dataset.Directory, batch int, stderr io.Writer) ([]float32, []int, []int, error) {
	it := d.Epoch(context.Background(), 0)
	defer it.Close()
	var feats []float32
	var labels, rows []int
	start, last := time.Now(), time.Now()
	for {
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if b.X.Dim(0) == 0 {
			continue
		}
		y := m.Forward(b.X, false)
		feats = append(feats, y.Data...)
		labels = append(labels, b.Labels...)
		rows = append(rows, b.Indices...)
		if time.Since(last) > 2*time.Second || len(rows) == d.Len() {
			last = time.Now()
			fmt.Fprintf(stderr, "features: %d/%d images, %.1f images/s\n", len(rows), d.Len(), float64(len(rows))/time.Since(start).Seconds())
		}
	}
	if len(rows) == 0 {
		return nil, nil, nil, errors.New("no image could be read")
	}
	return feats, labels, rows, nil
}

// writeOutputs writes out.npy, out_files.txt and, for folders,
// out_labels.npy and out_classes.txt, each atomically.
func writeOutputs(out string, shape []int, feats []float32, srcs []string, labels []int, classes []string, folder bool, stderr io.Writer) error {
	base := strings.TrimSuffix(out, ".npy")
	if err := npy.WriteFloat32File(out, shape, feats); err != nil {
		return err
	}
	if err := writeTextAtomic(base+"_files.txt", strings.Join(srcs, "\n")+"\n"); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "features: wrote %s %v and %s\n", out, tensor.Shape(shape), base+"_files.txt")
	if !folder {
		return nil
	}
	l64 := make([]int64, len(labels))
	for i, v := range labels {
		l64[i] = int64(v)
	}
	if err := npy.WriteInt64File(base+"_labels.npy", []int{len(l64)}, l64); err != nil {
		return err
	}
	if err := writeTextAtomic(base+"_classes.txt", strings.Join(classes, "\n")+"\n"); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "features: wrote %s and %s (%d classes)\n", base+"_labels.npy", base+"_classes.txt", len(classes))
	return nil
}

// writeTextAtomic writes text to a temporary file beside path, then renames it.
func writeTextAtomic(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
