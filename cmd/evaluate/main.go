// Command evaluate scores a model saved by cmd/finetune on a labelled
// folder: Keras's model.evaluate (loss and accuracy) plus the confusion
// matrix and scikit-learn's classification_report (per-class precision,
// recall, F1 and support, macro and weighted averages).
//
//	evaluate -model finetune-out data/validation
//	evaluate -model finetune-out -h5 best_model.h5 -format json -o scores.json data/test
//
// The folder has Keras's flow_from_directory layout, FOLDER/<class>/<image>
// (walked recursively, the pipeline's image extensions). Class folders are
// matched to the model's classes by name, not by position, so a folder that
// lacks a class (reported, support 0) or orders them differently is scored
// correctly; a folder class the model does not know is an error naming it.
// Images are decoded, resized and preprocessed exactly as training read
// them; an unreadable file is skipped and named on stderr.
//
// The loss is Keras's sparse categorical cross-entropy: from the logits
// (log-sum-exp in float64, as from_logits=True) for cmd/finetune's heads,
// or −log(clip(p, 1e−7)) for a softmax output. Metrics follow scikit-learn
// 1.2's definitions with zero_division=0 (a class never predicted has
// precision 0), and the text report is laid out as classification_report's
// (-digits, default 2 like sklearn). The tests check every number and the
// text against scikit-learn itself (testdata/gen_metrics.py).
//
// A separate command rather than a predict flag, as Keras separates
// model.evaluate (labelled data, scores) from model.predict (any images,
// probabilities).
//
// Output (-format, to stdout or atomically to -o FILE):
//
//	text  "N images: loss: L - accuracy: A", the confusion matrix (rows true,
//	      columns predicted) and the classification report
//	json  {"samples","skipped","loss","accuracy","classes","confusion_matrix",
//	      "report"}; "report" has classification_report(output_dict=True)'s keys
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gotransfer/gotransfer/internal/shards"
	"github.com/gotransfer/gotransfer/train"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "evaluate: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// chunk is how many images are decoded and classified at a time.
const chunk = 32

// skipped is one unreadable file.
type skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// scores are the raw results of one evaluation.
type scores struct {
	truth, pred []int
	loss        float64
	skipped     []skipped
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "folder written by cmd/finetune (model.json + model.h5) (required)")
	h5 := fs.String("h5", "", "weights file to use instead of model.h5 (e.g. best_model.h5)")
	format := fs.String("format", "text", "output format: text or json")
	outPath := fs.String("o", "", "write the output to this file (atomically) instead of stdout")
	digits := fs.Int("digits", 2, "decimals in the text classification report (sklearn's digits)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: evaluate -model DIR [-h5 FILE] [-format text|json] [-o FILE] FOLDER\n\nFOLDER holds one subfolder per class (flow_from_directory layout).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case *model == "":
		return fmt.Errorf("%w: -model DIR is required", errUsage)
	case fs.NArg() != 1:
		return fmt.Errorf("%w: give one labelled folder (FOLDER/<class>/<image>), got %d arguments", errUsage, fs.NArg())
	case *format != "text" && *format != "json":
		return fmt.Errorf("%w: -format %q: want text or json", errUsage, *format)
	case *digits < 0 || *digits > 15:
		return fmt.Errorf("%w: -digits %d: want 0..15", errUsage, *digits)
	}
	folder := fs.Arg(0)
	saved, err := train.LoadFile(*model, *h5)
	if err != nil {
		return fmt.Errorf("-model %s: %w", *model, err)
	}
	s, err := evaluate(ctx, saved, folder, stderr)
	if err != nil {
		return err
	}
	rep, err := NewReport(saved.Spec.Classes, s.truth, s.pred)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if *format == "json" {
			if err := writeJSON(bw, rep, s); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(bw, "%d images", rep.N)
			if len(s.skipped) > 0 {
				fmt.Fprintf(bw, " (%d skipped)", len(s.skipped))
			}
			fmt.Fprintf(bw, ": loss: %.4f - accuracy: %.4f\n\n", s.loss, rep.Accuracy)
			fmt.Fprintf(bw, "Confusion matrix (rows: true class, columns: predicted class):\n%s\n", rep.ConfusionText())
			fmt.Fprintf(bw, "Classification report:\n%s", rep.Text(*digits))
		}
		return bw.Flush()
	}
	if *outPath == "" {
		return write(stdout)
	}
	return shards.WriteAtomic(*outPath, write)
}

// evaluate lists folder, maps its classes to the model's by name, and
// classifies every readable image.
func evaluate(ctx context.Context, saved *train.Saved, folder string, stderr io.Writer) (*scores, error) {
	l, err := shards.List(folder, stderr)
	if err != nil {
		return nil, err
	}
	classes := saved.Spec.Classes
	index := map[string]int{}
	for i, c := range classes {
		index[c] = i
	}
	var unknown []string
	toModel := make([]int, len(l.Classes))
	present := map[string]bool{}
	for i, c := range l.Classes {
		j, ok := index[c]
		if !ok {
			unknown = append(unknown, filepath.Join(folder, c))
		}
		toModel[i], present[c] = j, true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("class folder(s) %s: not classes of the model, which knows %s", strings.Join(unknown, ", "), strings.Join(classes, ", "))
	}
	for _, c := range classes {
		if !present[c] {
			fmt.Fprintf(stderr, "evaluate: %s has no folder for class %q (support 0)\n", folder, c)
		}
	}
	fmt.Fprintf(stderr, "Found %d images belonging to %d classes.\n", len(l.Files), len(l.Classes))
	logits := saved.Spec.Head.Logits
	loader := shards.Loader{Options: saved.Spec.DatasetOptions(stderr)}
	s := &scores{}
	var outputs []float32
	k := len(classes)
	label := map[string]int{}
	for i, f := range l.Files {
		label[f] = toModel[l.Labels[i]]
	}
	for lo := 0; lo < len(l.Files); lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		x, kept, bad := loader.LoadReadable(ctx, l.Files[lo:min(lo+chunk, len(l.Files))])
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var names []string
		for p := range bad {
			names = append(names, p)
		}
		sort.Strings(names)
		for _, p := range names {
			fmt.Fprintf(stderr, "Warning: skipping %s: %s\n", p, bad[p])
			s.skipped = append(s.skipped, skipped{p, bad[p]})
		}
		if len(kept) == 0 {
			continue
		}
		y := train.Predict(saved.Net, x, false) // raw outputs: logits, or softmax probabilities
		if y.Shape[1] != k {
			return nil, fmt.Errorf("the model has %d outputs but %d classes", y.Shape[1], k)
		}
		outputs = append(outputs, y.Data...)
		for i, p := range kept {
			s.truth = append(s.truth, label[p])
			s.pred = append(s.pred, train.Argmax(y.Data[i*k:(i+1)*k]))
		}
	}
	if len(s.truth) == 0 {
		return nil, fmt.Errorf("%s: no readable image", folder)
	}
	if logits {
		s.loss = LossFromLogits(outputs, k, s.truth)
	} else {
		s.loss = LossFromProbs(outputs, k, s.truth)
	}
	return s, nil
}

// writeJSON writes the json format, keeping classification_report's key
// order in "report".
func writeJSON(w io.Writer, rep *Report, s *scores) error {
	var report strings.Builder
	report.WriteString("{")
	for i, kv := range rep.Dict() {
		k, _ := json.Marshal(kv[0])
		v, err := json.Marshal(kv[1])
		if err != nil {
			return err
		}
		if i > 0 {
			report.WriteString(", ")
		}
		fmt.Fprintf(&report, "%s: %s", k, v)
	}
	report.WriteString("}")
	if s.skipped == nil {
		s.skipped = []skipped{}
	}
	out := struct {
		Samples   int             `json:"samples"`
		Skipped   []skipped       `json:"skipped"`
		Loss      float64         `json:"loss"`
		Accuracy  float64         `json:"accuracy"`
		Classes   []string        `json:"classes"`
		Confusion [][]int         `json:"confusion_matrix"`
		Report    json.RawMessage `json:"report"`
	}{rep.N, s.skipped, s.loss, rep.Accuracy, rep.Classes, rep.Confusion, json.RawMessage(report.String())}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
