package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/optim"
	"github.com/gotransfer/gotransfer/tensor"
)

// ErrInterrupted is returned (wrapped) by Fit when its context was
// cancelled between two steps; when Options.CheckpointPath is set, the
// checkpoint to resume from has been written.
var ErrInterrupted = errors.New("interrupted")

// EpochLog is one row of the training history: the means over the epoch's
// training steps (running, as Keras reports them), the validation metrics at
// the end of the epoch, the learning rate used and the wall time.
type EpochLog struct {
	Epoch       int     // 0-based, as Keras's CSVLogger writes it
	Loss        float64 // mean training loss over the epoch (weighted by batch size; class weights applied)
	Accuracy    float64 // training accuracy over the epoch
	ValLoss     float64 // validation loss (NaN without a validation set)
	ValAccuracy float64 // validation accuracy (NaN without a validation set)
	LR          float64 // learning rate during the epoch
	Seconds     float64 // wall-clock seconds of the epoch, validation included
	Stage       string  // Options.Stage of the Fit that trained it
}

// Metric returns the named metric: "loss", "accuracy", "val_loss",
// "val_accuracy" or "lr" (NaN for any other name).
func (e EpochLog) Metric(name string) float64 {
	switch name {
	case "loss":
		return e.Loss
	case "accuracy":
		return e.Accuracy
	case "val_loss":
		return e.ValLoss
	case "val_accuracy":
		return e.ValAccuracy
	case "lr":
		return e.LR
	}
	return math.NaN()
}

// History is what Fit returns: one EpochLog per epoch it trained (for a
// resumed run, the epochs of the interrupted one too).
type History struct {
	Epochs  []EpochLog
	Stopped bool // a callback (EarlyStopping) ended training before Options.Epochs
}

// Options configures Fit. The zero value trains one epoch with Keras's
// Adam (lr 1e-3) and reports nothing.
type Options struct {
	// Context stops training between two steps when cancelled (Ctrl-C);
	// nil means context.Background().
	Context context.Context
	// Epochs is the index of the last epoch plus one, and InitialEpoch the
	// first, as Keras's fit(epochs=, initial_epoch=): epochs
	// [InitialEpoch, Epochs) are trained. Epochs 0 means InitialEpoch+1.
	Epochs, InitialEpoch int
	// TotalEpochs is N in the "Epoch i/N" lines (several Fit calls may
	// share one numbering); 0 means Epochs.
	TotalEpochs int
	// Stage names this Fit in EpochLog.Stage and in checkpoints (e.g.
	// "head" and "fine-tune" for the two stages of the Keras recipe).
	Stage string
	// Optimizer updates the trainable weights; nil means
	// optim.NewAdam(optim.KerasAdam()).
	Optimizer optim.Optimizer
	// ClassWeight, when non-nil, weights each sample's training loss by its
	// class's entry, as Keras's class_weight (see BalancedClassWeights):
	// loss = Σ w_y·ℓ / batch size. Validation loss is never weighted.
	ClassWeight []float64
	// Callbacks run in order at the start and end of training and of each
	// epoch. Their state is kept in checkpoints by position: resume with
	// the same callbacks in the same order.
	Callbacks []Callback
	// Seed derives every dropout mask: StepDropout layer i of the model is
	// re-seeded at each step with Mix(Seed, "drop", epoch, step, i).
	Seed uint64
	// Log receives Keras's verbose=2 line at the end of every epoch
	// ("Epoch 3/10 - 41s - loss: … - val_accuracy: …") and, when it is not
	// a terminal, a progress line every ProgressEvery; nil means none.
	Log io.Writer
	// Progress receives Keras's verbose=1 progress bar, redrawn in place
	// and fitted to the terminal's width, when it is a terminal; nil means
	// none.
	Progress io.Writer
	// ProgressEvery is the interval of the progress lines written to a Log
	// that is not a terminal; 0 means 10 s, negative means never.
	ProgressEvery time.Duration
	// SaveModel is the network whose weights checkpoints and ModelCheckpoint
	// save; nil means the model being trained. Set it to the whole network
	// when training its head alone (on cached features).
	SaveModel *nn.Model
	// CheckpointPath, when set, is where Fit writes its Checkpoint at the end
	// of every epoch and when interrupted.
	CheckpointPath string
	// CheckpointExtra is stored in every checkpoint unchanged (for example
	// the caller's settings and the data's fingerprint), read back as
	// Checkpoint.Extra.
	CheckpointExtra []byte
	// Resume, when set, continues from this checkpoint: the weights of
	// SaveModel, the optimizer's moments, the position (epoch and step) and
	// running sums, the history and the callbacks' state are restored. A
	// checkpoint of another Stage is refused.
	Resume *Checkpoint
	// OnStep, when set, runs after every training step with the epoch and
	// the number of steps done in it (1-based).
	OnStep func(epoch, stepsDone int)
}

// Run is what callbacks see of a Fit in progress.
type Run struct {
	Model     *nn.Model       // the network being trained
	SaveModel *nn.Model       // the network checkpoints save (Options.SaveModel or Model)
	Optimizer optim.Optimizer // its learning rate may be changed between epochs
	Log       io.Writer       // where messages go (never nil)
	History   []EpochLog      // the epochs trained so far
	stop      bool
}

// StopTraining ends Fit after the current epoch (Keras's
// model.stop_training = True).
func (r *Run) StopTraining() { r.stop = true }

// trainLoss is the loss Fit minimises: softmax cross-entropy from logits.
var plainLoss = &nn.SoftmaxCrossEntropy{}

// Fit trains model on train, evaluating on validation (nil: none) after
// every epoch, as Keras's model.fit(train, validation_data=validation).
// The loss is the softmax cross-entropy of the model's output (logits)
// against the labels; the metric is accuracy.
//
// Each step: re-seed the dropout layers, forward in training mode, loss,
// backward, one optimizer step over model.TrainableParams(). Frozen layers
// get no gradient and are never updated.
//
// When Options.Context is cancelled, Fit stops after the current step,
// writes the checkpoint (with Options.CheckpointPath) and returns an error
// wrapping ErrInterrupted; validation of a finished epoch always completes.
func Fit(model *nn.Model, train, validation Source, opt Options) (*History, error) {
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	end := opt.Epochs
	if end == 0 {
		end = opt.InitialEpoch + 1
	}
	total := opt.TotalEpochs
	if total == 0 {
		total = end
	}
	o := opt.Optimizer
	if o == nil {
		o = optim.NewAdam(optim.KerasAdam())
	}
	save := opt.SaveModel
	if save == nil {
		save = model
	}
	log := opt.Log
	if log == nil {
		log = io.Discard
	}
	lossFn := plainLoss
	if opt.ClassWeight != nil {
		w := make([]float32, len(opt.ClassWeight))
		for i, v := range opt.ClassWeight {
			w[i] = float32(v)
		}
		lossFn = &nn.SoftmaxCrossEntropy{ClassWeights: w}
	}
	var drops []*StepDropout
	for _, l := range model.Layers() {
		if d, ok := l.(*StepDropout); ok {
			drops = append(drops, d)
		}
	}
	r := &Run{Model: model, SaveModel: save, Optimizer: o, Log: log}
	f := &fitState{opt: &opt, run: r, epoch: opt.InitialEpoch}
	if ck := opt.Resume; ck != nil {
		if err := f.restore(ck); err != nil {
			return nil, err
		}
	} else {
		for _, cb := range opt.Callbacks {
			if b, ok := cb.(interface{ TrainBegin(*Run) error }); ok {
				if err := b.TrainBegin(r); err != nil {
					return nil, err
				}
			}
		}
	}
	hist := func() *History { return &History{Epochs: append([]EpochLog(nil), r.History...), Stopped: f.stopped} }
	if f.stopped || f.epoch >= end {
		return hist(), nil
	}
	params := model.TrainableParams()
	for ; f.epoch < end; f.epoch++ {
		epoch := f.epoch
		if ctx.Err() != nil {
			// Cancelled between epochs: save the position.
			if err := f.checkpoint(epoch); err != nil {
				return hist(), err
			}
			fmt.Fprintf(log, "Interrupted before epoch %d%s\n", epoch+1, f.where())
			return hist(), fmt.Errorf("%w before epoch %d", ErrInterrupted, epoch+1)
		}
		if f.step == 0 {
			for _, cb := range opt.Callbacks {
				if b, ok := cb.(interface{ EpochBegin(*Run, int) error }); ok {
					if err := b.EpochBegin(r, epoch); err != nil {
						return hist(), err
					}
				}
			}
		}
		lr := o.LR()
		start := time.Now()
		bar := newProgress(opt.Progress, log, opt.ProgressEvery, train.Steps(), epoch, total)
		interrupted := false
		err := train.Epoch(ctx, epoch, f.step, func(s int, x *tensor.Tensor, labels []int) error {
			for i, d := range drops {
				d.Reseed(Mix(opt.Seed, 0x64726f70 /* "drop" */, uint64(epoch), uint64(s), uint64(i)))
			}
			logits := model.Forward(x, true)
			l, dlogits := lossFn.Loss(logits, labels)
			model.Backward(dlogits)
			o.Step(params)
			n := float64(len(labels))
			f.lossSum += float64(l) * n
			f.correct += float64(countCorrect(logits, labels))
			f.seen += n
			f.step = s + 1
			bar.update(f.step, f.lossSum/f.seen, f.correct/f.seen)
			if opt.OnStep != nil {
				opt.OnStep(epoch, f.step)
			}
			if ctx.Err() != nil && f.step < train.Steps() {
				interrupted = true
				return ctx.Err()
			}
			return nil
		})
		bar.finish()
		f.spent += time.Since(start).Seconds()
		if interrupted || (err != nil && ctx.Err() != nil && f.step < train.Steps()) {
			if f.step == 0 && epoch == opt.InitialEpoch && opt.Resume == nil {
				return hist(), fmt.Errorf("%w before the first step; nothing to save", ErrInterrupted)
			}
			if err := f.checkpoint(epoch); err != nil {
				return hist(), err
			}
			fmt.Fprintf(log, "Interrupted at epoch %d, step %d/%d%s\n", epoch+1, f.step, train.Steps(), f.where())
			return hist(), fmt.Errorf("%w at epoch %d, step %d/%d", ErrInterrupted, epoch+1, f.step, train.Steps())
		}
		if err != nil {
			return hist(), err
		}
		if f.seen == 0 {
			return hist(), fmt.Errorf("epoch %d: no training samples", epoch+1)
		}
		vStart := time.Now()
		e := EpochLog{Epoch: epoch, Loss: f.lossSum / f.seen, Accuracy: f.correct / f.seen, LR: lr, Stage: opt.Stage,
			ValLoss: math.NaN(), ValAccuracy: math.NaN()}
		if validation != nil {
			// Validation always completes, even after Ctrl-C, so the epoch is whole.
			ev, err := Evaluate(context.WithoutCancel(ctx), model, validation, 0)
			if err != nil {
				return hist(), err
			}
			e.ValLoss, e.ValAccuracy = ev.Loss, ev.Accuracy
		}
		e.Seconds = f.spent + time.Since(vStart).Seconds()
		r.History = append(r.History, e)
		fmt.Fprintln(log, EpochLine(epoch, total, e))
		for _, cb := range opt.Callbacks {
			if err := cb.EpochEnd(r, e); err != nil {
				return hist(), err
			}
		}
		f.step, f.lossSum, f.correct, f.seen, f.spent = 0, 0, 0, 0, 0
		if r.stop {
			f.stopped = true
		}
		// A checkpoint at each epoch end: a crash loses at most one epoch.
		if err := f.checkpoint(epoch + 1); err != nil {
			return hist(), err
		}
		if f.stopped {
			break
		}
	}
	for _, cb := range opt.Callbacks {
		if b, ok := cb.(interface{ TrainEnd(*Run) error }); ok {
			if err := b.TrainEnd(r); err != nil {
				return hist(), err
			}
		}
	}
	return hist(), nil
}

// fitState is Fit's position and running sums: what a checkpoint saves.
type fitState struct {
	opt                    *Options
	run                    *Run
	epoch, step            int
	lossSum, correct, seen float64
	spent                  float64 // seconds spent in the current epoch
	stopped                bool
}

// where says where the checkpoint went, for the interruption message.
func (f *fitState) where() string {
	if f.opt.CheckpointPath == "" {
		return ""
	}
	return fmt.Sprintf(": checkpoint written to %s", f.opt.CheckpointPath)
}

// countCorrect counts rows of logits (N, K) whose argmax is the label.
func countCorrect(logits *tensor.Tensor, labels []int) int {
	k := logits.Shape[1]
	n := 0
	for i, y := range labels {
		if Argmax(logits.Data[i*k:(i+1)*k]) == y {
			n++
		}
	}
	return n
}

// Argmax returns the index of the largest value (the first on ties).
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
