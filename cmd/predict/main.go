// Command predict prints the top-k classes of images for a model saved by
// cmd/finetune, or for Keras's ImageNet VGG with its classifier.
//
//	predict -model finetune-out photo.jpg other.png photos/
//	predict -weights imagenet [-depth 16] photo.jpg
//	predict -model finetune-out -format csv -o predictions.csv photos/
//
// With -model it reads DIR/model.json (architecture, class names, input
// size, preprocessing) and DIR/model.h5 (or -h5 FILE, e.g. best_model.h5).
// With -weights imagenet (or a Keras include_top .h5 file) it builds VGG
// with its top at 224x224 and names the 1000 ImageNet classes.
//
// Each argument is an image file (any name: the content decides the
// format) or a folder, walked recursively in sorted order (Python's
// sorted(os.walk())) keeping the names the training pipeline lists: png,
// jpg, jpeg, bmp, ppm, tif, tiff, gif, webp, any case. Images are decoded,
// resized and preprocessed exactly as training read them. A file that
// cannot be decoded is skipped and named on stderr; the exit status is 1
// only when no image could be classified.
//
// Output (-format, to stdout or atomically to -o FILE):
//
//	table  the path, then one line per rank: "  1. ants   0.9731"
//	csv    header path,class_1,prob_1,…,class_k,prob_k; one row per image
//	json   an array of {"path":…,"top":[{"class":…,"index":…,"prob":…},…]}
//	       ("path_base64" is added for a name that is not valid UTF-8)
//
// Probabilities are softmax outputs; csv and json print them with float32's
// shortest exact decimal form. To score a labelled folder (accuracy, loss,
// confusion matrix, classification report) use cmd/evaluate.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/gotransfer/gotransfer/internal/shards"
	"github.com/gotransfer/gotransfer/train"
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

// chunk is how many images are decoded and classified at a time, so a
// folder of any size needs memory for one chunk only.
const chunk = 32

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
	format := fs.String("format", "table", "output format: table, csv or json")
	outPath := fs.String("o", "", "write the output to this file (atomically) instead of stdout")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: predict -model DIR [-format table|csv|json] [-o FILE] IMAGE|FOLDER...\n       predict -weights imagenet|FILE.h5 IMAGE|FOLDER...\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no image files or folders given", errUsage)
	}
	if (*model == "") == (*weights == "") {
		return fmt.Errorf("%w: give exactly one of -model DIR or -weights imagenet|FILE.h5", errUsage)
	}
	if *top < 1 {
		return fmt.Errorf("%w: -top must be at least 1", errUsage)
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return fmt.Errorf("%w: -format %q: want table, csv or json", errUsage, *format)
	}
	images, err := expand(fs.Args(), stderr)
	if err != nil {
		return err
	}
	if len(images) == 0 {
		return fmt.Errorf("no image files in %v (folders keep png, jpg, jpeg, bmp, ppm, tif, tiff, gif and webp names)", fs.Args())
	}
	saved, names, logits, err := loadModel(*model, *h5, *weights, *depth)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		p := newPrinter(*format, bw, *top, len(names))
		n, err := predict(ctx, saved, names, logits, *top, images, stderr, p.print)
		if err != nil {
			return err
		}
		if err := p.close(); err != nil {
			return err
		}
		if n == 0 {
			return errors.New("no readable image files")
		}
		return bw.Flush()
	}
	if *outPath == "" {
		return write(stdout)
	}
	return shards.WriteAtomic(*outPath, write)
}

// expand replaces each folder argument by its image files (recursive,
// sorted, image extensions only); files are kept whatever their name.
func expand(args []string, warn io.Writer) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a) // a missing file is reported when loaded
			continue
		}
		files, err := shards.ListFolder(a, warn)
		if err != nil {
			return nil, fmt.Errorf("folder %s: %w", a, err)
		}
		out = append(out, files...)
	}
	return out, nil
}

// loadModel builds the classifier and names its classes; logits says
// whether its output needs a softmax.
func loadModel(model, h5, weights string, depth int) (*train.Saved, []string, bool, error) {
	if model != "" {
		saved, err := train.LoadFile(model, h5)
		if err != nil {
			return nil, nil, false, fmt.Errorf("-model %s: %w", model, err)
		}
		return saved, saved.Spec.Classes, true, nil
	}
	saved, err := imagenetModel(weights, depth)
	if err != nil {
		return nil, nil, false, err
	}
	var names []string
	for _, c := range vgg.ImageNetClasses() {
		names = append(names, c.Name)
	}
	return saved, names, false, nil
}

// predict classifies images chunk by chunk, in the order given, and passes
// each readable image's ranked classes to emit. Unreadable files are
// reported on stderr and skipped. It returns how many were classified.
func predict(ctx context.Context, saved *train.Saved, names []string, logits bool, top int, images []string, stderr io.Writer, emit func(result) error) (int, error) {
	n := 0
	for lo := 0; lo < len(images); lo += chunk {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		x, kept, bad := shards.Loader{Options: saved.Spec.DatasetOptions(stderr)}.LoadReadable(ctx, images[lo:min(lo+chunk, len(images))])
		if err := ctx.Err(); err != nil {
			return n, err
		}
		reportBad(stderr, bad)
		if len(kept) == 0 {
			continue
		}
		probs := train.Predict(saved.Net, x, logits)
		k := probs.Shape[1]
		if len(names) != k {
			return n, fmt.Errorf("the model has %d outputs but %d class names", k, len(names))
		}
		for i, p := range kept {
			if err := emit(result{Path: p, Top: train.TopK(probs.Data[i*k:(i+1)*k], top), Names: names}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// printer writes results in one -format.
type printer struct {
	format string
	w      io.Writer
	csv    *csv.Writer
	n      int
}

func newPrinter(format string, w io.Writer, top, classes int) *printer {
	p := &printer{format: format, w: w}
	if format == "csv" {
		p.csv = csv.NewWriter(w)
		head := []string{"path"}
		for r := 1; r <= min(top, classes); r++ {
			head = append(head, "class_"+strconv.Itoa(r), "prob_"+strconv.Itoa(r))
		}
		p.csv.Write(head)
	}
	return p
}

// rankJSON is one class of a json result.
type rankJSON struct {
	Class string  `json:"class"`
	Index int     `json:"index"`
	Prob  float32 `json:"prob"`
}

func (p *printer) print(r result) error {
	defer func() { p.n++ }()
	switch p.format {
	case "csv":
		rec := []string{r.Path}
		for _, t := range r.Top {
			rec = append(rec, r.Names[t.Index], strconv.FormatFloat(float64(t.Prob), 'g', -1, 32))
		}
		return p.csv.Write(rec)
	case "json":
		j := struct {
			Path       string     `json:"path"`
			PathBase64 string     `json:"path_base64,omitempty"`
			Top        []rankJSON `json:"top"`
		}{Path: r.Path}
		if !utf8.ValidString(r.Path) {
			j.PathBase64 = base64.StdEncoding.EncodeToString([]byte(r.Path))
		}
		for _, t := range r.Top {
			j.Top = append(j.Top, rankJSON{r.Names[t.Index], t.Index, t.Prob})
		}
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		sep := ",\n"
		if p.n == 0 {
			sep = "[\n"
		}
		_, err = fmt.Fprintf(p.w, "%s%s", sep, b)
		return err
	default:
		fmt.Fprintf(p.w, "%s\n", r.Path)
		for i, t := range r.Top {
			fmt.Fprintf(p.w, "  %d. %-30s %.4f\n", i+1, r.Names[t.Index], t.Prob)
		}
		return nil
	}
}

func (p *printer) close() error {
	switch p.format {
	case "csv":
		p.csv.Flush()
		return p.csv.Error()
	case "json":
		if p.n == 0 {
			_, err := io.WriteString(p.w, "[]\n")
			return err
		}
		_, err := io.WriteString(p.w, "\n]\n")
		return err
	}
	return nil
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
