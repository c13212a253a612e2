package main

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"

	"github.com/gotransfer/gotransfer/internal/train"
)

// checkpointVersion changes whenever the checkpoint layout changes; older
// files are refused with a clear message instead of being misread.
const checkpointVersion = 2

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

// The file is a stream of gob values: the checkpoint without its Params,
// then one paramRecord per weight in name order, so that neither writing
// nor reading holds more than one weight's encoding in memory (a single
// gob value of every VGG16 weight was ~90 MB of buffer on top of the
// weights).

// paramRecord is one weight: its name and its float32 values as
// little-endian bytes (4 bytes each, exact).
type paramRecord struct {
	Name string
	Raw  []byte
}

// maxCheckpointParams bounds the weight count read from a file, so that a
// damaged count cannot make the reader loop for long.
const maxCheckpointParams = 1 << 16

// saveCheckpoint writes c atomically.
func saveCheckpoint(path string, c *checkpoint) error {
	c.Version = checkpointVersion
	head := *c
	head.Params = nil
	names := make([]string, 0, len(c.Params))
	for n := range c.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	err := train.WriteAtomic(path, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		enc := gob.NewEncoder(w)
		if err := enc.Encode(&head); err != nil {
			return err
		}
		if err := enc.Encode(len(names)); err != nil {
			return err
		}
		var raw []byte
		for _, n := range names {
			v := c.Params[n]
			raw = raw[:0]
			for _, x := range v {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
			}
			if err := enc.Encode(paramRecord{Name: n, Raw: raw}); err != nil {
				return err
			}
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}

// errNoCheckpoint is returned by loadCheckpoint when there is nothing to resume.
var errNoCheckpoint = errors.New("no checkpoint")

// loadCheckpoint reads a checkpoint written by saveCheckpoint.
func loadCheckpoint(path string) (*checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, errNoCheckpoint)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var c checkpoint
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("checkpoint %s is unreadable: %w", path, err)
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint %s has version %d, this program writes version %d", path, c.Version, checkpointVersion)
	}
	var count int
	if err := dec.Decode(&count); err != nil || count < 0 || count > maxCheckpointParams {
		return nil, fmt.Errorf("checkpoint %s is unreadable: bad weight count (%v)", path, err)
	}
	c.Params = make(map[string][]float32, count)
	for range count {
		var r paramRecord
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("checkpoint %s is unreadable: %w", path, err)
		}
		if len(r.Raw)%4 != 0 {
			return nil, fmt.Errorf("checkpoint %s is unreadable: weight %q has %d bytes", path, r.Name, len(r.Raw))
		}
		v := make([]float32, len(r.Raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.Raw[4*i:]))
		}
		c.Params[r.Name] = v
	}
	return &c, nil
}
