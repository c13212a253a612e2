package main

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gotransfer/gotransfer/internal/train"
)

// checkpointVersion changes whenever the checkpoint layout changes; older
// files are refused with a clear message instead of being misread.
const checkpointVersion = 1

// checkpoint is everything needed to continue a run exactly where it stopped:
// the weights, the optimizer's moments, the position (stage, epoch, step),
// the running sums of the current epoch and the history so far. Random
// streams are not stored because every one of them is derived from
// (seed, epoch, step): the shuffle order of an epoch and each step's dropout
// masks and augmentations are recomputed identically on resume.
type checkpoint struct {
	Version int
	// RunKey fingerprints the flags that change the computation (data,
	// model, seed, batch, lr, ...). A resume with different flags is refused.
	RunKey string
	Stage  int // 0: head training, 1: fine-tuning
	Epoch  int // global epoch index (0-based) being trained
	Step   int // steps of Epoch already done
	// Running sums over the steps done in Epoch.
	LossSum, Correct, Seen float64
	Seconds                float64 // wall time spent in Epoch so far
	History                []EpochLog
	BestValAccuracy        float64
	BestEpoch              int
	Params                 map[string][]float32 // every model weight by name ("layer/kernel")
	Optimizer              []byte               // optim.Optimizer.State() of the current stage
}

// checkpointName is the resumable checkpoint's file name inside -out.
const checkpointName = "checkpoint.gob"

// saveCheckpoint writes c atomically.
func saveCheckpoint(path string, c *checkpoint) error {
	c.Version = checkpointVersion
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(c); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return train.WriteFileAtomic(path, b.Bytes())
}

// errNoCheckpoint is returned by loadCheckpoint when there is nothing to resume.
var errNoCheckpoint = errors.New("no checkpoint")

// loadCheckpoint reads a checkpoint written by saveCheckpoint.
func loadCheckpoint(path string) (*checkpoint, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, errNoCheckpoint)
	}
	if err != nil {
		return nil, err
	}
	var c checkpoint
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&c); err != nil {
		return nil, fmt.Errorf("checkpoint %s is unreadable: %w", path, err)
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint %s has version %d, this program writes version %d", path, c.Version, checkpointVersion)
	}
	return &c, nil
}
