// Command finetune is the Keras transfer-learning recipe in pure Go: a VGG
// convolutional base (ImageNet or any Keras weights file, or random) with a
// new classifier head trained on a folder of images, optionally followed by
// fine-tuning the top of the base with a small learning rate.
//
//	go run ./cmd/finetune -data ./cats_and_dogs -weights imagenet
//
// Without -data it runs an offline demonstration on MNIST (see
// mnist_default.go): pre-train a reduced-width VGG16 on digits 0–4, transfer
// it to digits 5–9 from 50 labelled images per class, and compare with the
// same network trained from scratch on those images. The last line is
//
//	result: transfer_accuracy=0.XXXX scratch_accuracy=0.XXXX
//
// The training loop, callbacks and checkpoints are the public package
// github.com/gotransfer/gotransfer/train; this command is built on it.
//
// Outputs (in -out): model.h5 (Keras legacy weights layout, whole model)
// and model.json (architecture, classes, input size, preprocessing, the
// final trainable state), both written at the end; history.csv (Keras
// CSVLogger columns), history.png and best_model.h5 (save_best_only on
// -monitor), written after every epoch; checkpoint.gob (resume state),
// written after every epoch and removed when the run completes. A fresh
// run first moves an earlier run's outputs to -out/previous-run/, so the
// folder never mixes two runs, and removes stale temporary files.
//
// Ctrl-C stops after the current step and writes the checkpoint;
// `finetune -resume -out DIR` continues exactly where it stopped, with the
// flags saved in the checkpoint (a flag given again with another value, or
// data changed since, is refused).
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
	"runtime/debug"
	"syscall"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/train"
)

// gcPercent is the garbage collector's GOGC for training runs unless the
// GOGC environment variable says otherwise. The live heap of a run is
// mostly long-lived (weights, packed kernel transforms, the activation pool,
// the decoded-image cache: ~370 MB for VGG16 at 150x150 with 1400 images),
// and Go's default of 100 lets the heap grow to twice that before
// collecting. Measured on that job (bench/epoch_compare.sh's): peak RSS
// 1008 -> 767-814 MB at 25 (510-538 MB once the checkpoint was streamed),
// epoch time unchanged (39-40 s); allocations per
// training step are few, so collections stay rare.
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err and maps it to the process status: 0 success, 2 bad
// flags, 130 interrupted (checkpoint written), 1 anything else.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "finetune: %v\n", err)
		return 2
	case errors.Is(err, errInterrupted):
		fmt.Fprintf(stderr, "finetune: %v\n", err)
		return 130
	default:
		fmt.Fprintf(stderr, "finetune: %v\n", err)
		return 1
	}
}

// hooks lets tests observe and steer a run; nil in production.
type hooks struct {
	// onStep runs after every training step (global epoch, steps done in it).
	onStep func(epoch, stepsDone int)
	// onDone receives the trained network at the end of a -data run.
	onDone func(full *nn.Model)
}

// run parses args and runs the job: the folder recipe with -data (or the
// run a -resume continues), else the offline MNIST demonstration.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, h *hooks) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if h == nil {
		h = &hooks{}
	}
	var ck *train.Checkpoint
	if cfg.Resume {
		path := filepath.Join(cfg.outDir(), train.CheckpointName)
		if ck, err = train.LoadCheckpoint(path); err != nil {
			if _, serr := os.Stat(filepath.Join(cfg.outDir(), train.SpecName)); serr == nil && errors.Is(err, train.ErrNoCheckpoint) {
				return fmt.Errorf("-resume: %w: the run in %s completed (its checkpoint is removed at the end); nothing to continue", err, cfg.outDir())
			}
			return fmt.Errorf("-resume: %w", err)
		}
		rec, err := decodeRecord(ck.Extra)
		if err != nil {
			return fmt.Errorf("-resume: %s: %w", path, err)
		}
		if cfg, err = resumeConfig(cfg, rec.Flags, stderr); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	switch {
	case cfg.Features != "":
		return runFeatures(ctx, cfg, ck, stdout, stderr, h)
	case cfg.Data == "":
		return runDefault(ctx, cfg, stdout, stderr, h)
	}
	return runFolder(ctx, cfg, ck, stdout, stderr, h)
}
