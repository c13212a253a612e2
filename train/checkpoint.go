package train

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

	"github.com/gotransfer/gotransfer/nn"
)

// CheckpointVersion changes whenever the checkpoint layout changes; older
// files are refused with a clear message instead of being misread.
const CheckpointVersion = 3

// Checkpoint is everything Fit needs to continue a run exactly where it
// stopped: the weights, the optimizer's moments, the position (epoch, step),
// the running sums of the current epoch, the history so far and the
// callbacks' state. Random streams are not stored because every one of them
// is derived from (seed, epoch, step): the shuffle order of an epoch and
// each step's dropout masks and augmentations are recomputed identically.
type Checkpoint struct {
	Version int
	Stage   string // Options.Stage of the Fit that wrote it
	Epoch   int    // epoch (0-based) to train next, or being trained
	Step    int    // steps of Epoch already done
	// Running sums over the steps done in Epoch.
	LossSum, Correct, Seen float64
	Seconds                float64 // wall time spent in Epoch so far
	Stopped                bool    // a callback ended training: nothing left to run
	History                []EpochLog
	Callbacks              [][]byte // StatefulCallback.State of each callback, by position (nil: none)
	Extra                  []byte   // Options.CheckpointExtra
	Optimizer              []byte   // optim.Optimizer.State()
	// Params holds every weight of the saved model by name
	// ("layer/kernel"); it is written after the other fields, one weight at
	// a time.
	Params map[string][]float32
}

// CheckpointName is the file name cmd/finetune gives the checkpoint.
const CheckpointName = "checkpoint.gob"

// The file is a stream of gob values: the checkpoint without its Params,
// then the weight count and one paramRecord per weight in name order, so
// that neither writing nor reading holds more than one weight's encoding in
// memory (one gob value of every VGG16 weight would be ~90 MB of buffer on
// top of the weights).

// paramRecord is one weight: its name and its float32 values as
// little-endian bytes (4 bytes each, exact).
type paramRecord struct {
	Name string
	Raw  []byte
}

// maxCheckpointParams bounds the weight count read from a file, so that a
// damaged count cannot make the reader loop for long.
const maxCheckpointParams = 1 << 16

// SaveCheckpoint writes c to path atomically (a temporary file renamed
// over path once complete).
func SaveCheckpoint(path string, c *Checkpoint) error {
	c.Version = CheckpointVersion
	head := *c
	head.Params = nil
	names := make([]string, 0, len(c.Params))
	for n := range c.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	err := WriteAtomic(path, func(f *os.File) error {
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
			raw = raw[:0]
			for _, x := range c.Params[n] {
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

// ErrNoCheckpoint is returned (wrapped) by LoadCheckpoint when the file does
// not exist.
var ErrNoCheckpoint = errors.New("no checkpoint")

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint. A damaged
// file is an error naming it, never a panic.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoCheckpoint)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var c Checkpoint
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("checkpoint %s is unreadable: %w", path, err)
	}
	if c.Version != CheckpointVersion {
		return nil, fmt.Errorf("checkpoint %s has version %d, this program reads version %d", path, c.Version, CheckpointVersion)
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

// RestoreWeights copies the checkpoint's weights into m, checking first
// that every weight of m is present with its size (m is untouched on error).
func (c *Checkpoint) RestoreWeights(m *nn.Model) error {
	ps := m.Params()
	for _, p := range ps {
		v, ok := c.Params[p.Name]
		if !ok || len(v) != len(p.Value.Data) {
			return fmt.Errorf("checkpoint: weight %s missing or of the wrong size", p.Name)
		}
	}
	for _, p := range ps {
		copy(p.Value.Data, c.Params[p.Name])
	}
	return nil
}

// checkpoint writes Fit's state with next as the epoch to train next (no-op
// without Options.CheckpointPath).
func (f *fitState) checkpoint(next int) error {
	if f.opt.CheckpointPath == "" {
		return nil
	}
	state, err := f.run.Optimizer.State()
	if err != nil {
		return err
	}
	ck := &Checkpoint{Stage: f.opt.Stage, Epoch: next, Step: f.step,
		LossSum: f.lossSum, Correct: f.correct, Seen: f.seen, Seconds: f.spent, Stopped: f.stopped,
		History: f.run.History, Extra: f.opt.CheckpointExtra, Optimizer: state,
		Params: map[string][]float32{}}
	for _, cb := range f.opt.Callbacks {
		var b []byte
		if s, ok := cb.(StatefulCallback); ok {
			if b, err = s.State(); err != nil {
				return fmt.Errorf("checkpoint: callback state: %w", err)
			}
		}
		ck.Callbacks = append(ck.Callbacks, b)
	}
	for _, p := range f.run.SaveModel.Params() {
		ck.Params[p.Name] = p.Value.Data
	}
	return SaveCheckpoint(f.opt.CheckpointPath, ck)
}

// restore loads ck into Fit's state, the saved model and the callbacks.
func (f *fitState) restore(ck *Checkpoint) error {
	if ck.Stage != f.opt.Stage {
		return fmt.Errorf("checkpoint of stage %q cannot resume stage %q", ck.Stage, f.opt.Stage)
	}
	if len(ck.Callbacks) != len(f.opt.Callbacks) {
		return fmt.Errorf("checkpoint holds the state of %d callbacks, this run has %d", len(ck.Callbacks), len(f.opt.Callbacks))
	}
	if err := ck.RestoreWeights(f.run.SaveModel); err != nil {
		return err
	}
	if err := f.run.Optimizer.LoadState(ck.Optimizer); err != nil {
		return fmt.Errorf("checkpoint optimizer state: %w", err)
	}
	for i, cb := range f.opt.Callbacks {
		s, ok := cb.(StatefulCallback)
		if ok != (len(ck.Callbacks[i]) > 0) {
			return fmt.Errorf("checkpoint: callback %d (%T) does not match the saved one", i, cb)
		}
		if ok {
			if err := s.LoadState(ck.Callbacks[i]); err != nil {
				return fmt.Errorf("checkpoint: callback %d (%T): %w", i, cb, err)
			}
		}
	}
	f.epoch, f.step = ck.Epoch, ck.Step
	f.lossSum, f.correct, f.seen, f.spent = ck.LossSum, ck.Correct, ck.Seen, ck.Seconds
	f.stopped = ck.Stopped
	f.run.History = append([]EpochLog(nil), ck.History...)
	return nil
}
