package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/gotransfer/gotransfer/internal/train"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/optim"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// errInterrupted is returned when the context was cancelled (Ctrl-C) and a
// resumable checkpoint was written.
var errInterrupted = errors.New("interrupted")

// stage is one call of Keras's model.fit: a network, its data, an optimizer
// and a range of global epoch numbers [From, To).
type stage struct {
	Index    int         // 0: head training, 1: fine-tuning
	Name     string      // "head" or "fine-tune"
	Net      *nn.Model   // the network trained (whole model, or the head on cached features)
	Train    batchSource // training batches
	Val      batchSource // validation batches (nil: none)
	From, To int         // global epochs [From, To)
	LR       float64     // Adam learning rate
	// DecayFrom > 0: epochs from this global epoch on use LR/10 (a
	// step decay that settles the final weights; 0 = constant LR).
	DecayFrom int
	// WarmupSteps > 0 ramps the learning rate linearly from LR/WarmupSteps
	// to LR over the stage's first WarmupSteps steps (so that a fresh head's
	// first, large updates do not wreck pre-trained weights).
	WarmupSteps int
	// LayerLR scales LR for the named layers (discriminative fine-tuning;
	// nil = one LR for all).
	LayerLR map[string]float64
	Prepare func() error // called once before the first step is run (e.g. feature caching); may be nil
}

// runner trains stages, reporting the Keras way and keeping -out up to date.
type runner struct {
	Full     *nn.Model            // the whole network (saved to .h5)
	Dropouts []*train.StepDropout // re-seeded each step
	Seed     uint64
	RunKey   string
	Out      string // output folder ("" = write nothing)
	Epochs   int    // total epochs over all stages, for "Epoch i/N"
	Stdout   io.Writer
	Stderr   io.Writer // progress bars

	History   []EpochLog
	BestAcc   float64
	BestEpoch int // -1 before any validated epoch

	// OnStep, when set (tests), runs after every completed step with the
	// global epoch and the 1-based number of steps done in it.
	OnStep func(epoch, stepsDone int)
	// SaveWeights writes the whole model's weights to path (Keras .h5).
	SaveWeights func(path string) error
	// AfterEpoch, when set, runs after each epoch's files are written.
	AfterEpoch func() error
}

// loss is the training loss: softmax cross-entropy from logits.
var loss = &nn.SoftmaxCrossEntropy{}

// newAdam returns Keras's Adam (β1 .9, β2 .999, ε 1e-7) at lr.
func newAdam(lr float64, layerLR map[string]float64) optim.Optimizer {
	cfg := optim.KerasAdam()
	cfg.LR, cfg.LayerLR = lr, layerLR
	return optim.NewAdam(cfg)
}

// runStage trains st from its first epoch, or from the position in ck when
// ck belongs to this stage. It returns errInterrupted after writing a
// checkpoint when ctx is cancelled between steps.
func (r *runner) runStage(ctx context.Context, st *stage, ck *checkpoint) error {
	opt := newAdam(st.LR, st.LayerLR)
	epoch, step := st.From, 0
	var lossSum, correct, seen, spent float64
	if ck != nil && ck.Stage == st.Index {
		if err := opt.LoadState(ck.Optimizer); err != nil {
			return fmt.Errorf("checkpoint optimizer state: %w", err)
		}
		epoch, step = ck.Epoch, ck.Step
		lossSum, correct, seen, spent = ck.LossSum, ck.Correct, ck.Seen, ck.Seconds
	} else if ck != nil && ck.Stage > st.Index {
		return nil // already done
	}
	if epoch >= st.To {
		return nil
	}
	if st.Prepare != nil {
		if err := st.Prepare(); err != nil {
			return err
		}
	}
	params := st.Net.TrainableParams()
	for ; epoch < st.To; epoch++ {
		if ctx.Err() != nil {
			// Cancelled between epochs (or stages): save the position.
			if err := r.checkpoint(st, opt, epoch, step, lossSum, correct, seen, spent); err != nil {
				return err
			}
			fmt.Fprintf(r.Stdout, "Interrupted before epoch %d: checkpoint written to %s; continue with -resume\n", epoch+1, filepath.Join(r.Out, checkpointName))
			return errInterrupted
		}
		lr := st.LR
		if st.DecayFrom > 0 && epoch >= st.DecayFrom {
			lr = st.LR / 10
		}
		opt.SetLR(lr)
		start := time.Now()
		bar := newProgressBar(r.Stderr, st.Train.Steps())
		interrupted := false
		err := st.Train.Epoch(ctx, epoch, step, func(s int, x *tensor.Tensor, labels []int) error {
			for i, d := range r.Dropouts {
				d.Reseed(mix(r.Seed, 0x64726f70 /* "drop" */, uint64(epoch), uint64(s), uint64(i)))
			}
			if done := (epoch-st.From)*st.Train.Steps() + s; done < st.WarmupSteps {
				opt.SetLR(lr * float64(done+1) / float64(st.WarmupSteps))
			} else if done == st.WarmupSteps {
				opt.SetLR(lr)
			}
			logits := st.Net.Forward(x, true)
			l, dlogits := loss.Loss(logits, labels)
			st.Net.Backward(dlogits)
			opt.Step(params)
			n := float64(len(labels))
			lossSum += float64(l) * n
			correct += float64(countCorrect(logits, labels))
			seen += n
			step = s + 1
			bar.update(step, lossSum/seen, correct/seen)
			if r.OnStep != nil {
				r.OnStep(epoch, step)
			}
			if ctx.Err() != nil && step < st.Train.Steps() {
				interrupted = true
				return ctx.Err()
			}
			return nil
		})
		bar.finish()
		spent += time.Since(start).Seconds()
		if interrupted || (err != nil && ctx.Err() != nil && step < st.Train.Steps()) {
			if step == 0 && epoch == st.From && ck == nil {
				return fmt.Errorf("%w before the first step; nothing to save", errInterrupted)
			}
			if err := r.checkpoint(st, opt, epoch, step, lossSum, correct, seen, spent); err != nil {
				return err
			}
			fmt.Fprintf(r.Stdout, "Interrupted at epoch %d, step %d/%d: checkpoint written to %s; continue with -resume\n",
				epoch+1, step, st.Train.Steps(), filepath.Join(r.Out, checkpointName))
			return errInterrupted
		}
		if err != nil {
			return err
		}
		vStart := time.Now()
		e := EpochLog{Epoch: epoch, Loss: lossSum / seen, Accuracy: correct / seen, LR: lr, Stage: st.Name,
			ValLoss: math.NaN(), ValAccuracy: math.NaN()}
		if st.Val != nil {
			// Validation always completes, even after Ctrl-C, so the epoch is whole.
			vl, va, _, err := evaluate(context.WithoutCancel(ctx), st.Net, st.Val, 0)
			if err != nil {
				return err
			}
			e.ValLoss, e.ValAccuracy = vl, va
		}
		e.Seconds = spent + time.Since(vStart).Seconds()
		r.History = append(r.History, e)
		fmt.Fprintln(r.Stdout, epochLine(epoch, r.Epochs, e))
		if err := r.afterEpoch(e); err != nil {
			return err
		}
		step, lossSum, correct, seen, spent = 0, 0, 0, 0, 0
		// A checkpoint at each epoch end: a crash loses at most one epoch.
		if err := r.checkpoint(st, opt, epoch+1, 0, 0, 0, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// afterEpoch updates the best checkpoint (save_best_only on val_accuracy,
// or on accuracy without validation), history.csv and history.png.
func (r *runner) afterEpoch(e EpochLog) error {
	monitor := e.ValAccuracy
	if math.IsNaN(monitor) {
		monitor = e.Accuracy
	}
	improved := r.BestEpoch < 0 || monitor > r.BestAcc
	if improved {
		r.BestAcc, r.BestEpoch = monitor, e.Epoch
	}
	if r.Out == "" {
		return nil
	}
	if improved && r.SaveWeights != nil {
		if err := r.SaveWeights(filepath.Join(r.Out, bestModelName)); err != nil {
			return err
		}
	}
	if err := writeHistoryCSV(filepath.Join(r.Out, "history.csv"), r.History); err != nil {
		return err
	}
	if err := writeHistoryPNG(filepath.Join(r.Out, "history.png"), r.History); err != nil {
		return err
	}
	if r.AfterEpoch != nil {
		return r.AfterEpoch()
	}
	return nil
}

// bestModelName is the save_best_only checkpoint inside -out.
const bestModelName = "best_model.h5"

// checkpoint writes the resumable state (no-op without -out).
func (r *runner) checkpoint(st *stage, opt optim.Optimizer, epoch, step int, lossSum, correct, seen, spent float64) error {
	if r.Out == "" {
		return nil
	}
	state, err := opt.State()
	if err != nil {
		return err
	}
	ck := &checkpoint{RunKey: r.RunKey, Stage: st.Index, Epoch: epoch, Step: step,
		LossSum: lossSum, Correct: correct, Seen: seen, Seconds: spent,
		History: r.History, BestValAccuracy: r.BestAcc, BestEpoch: r.BestEpoch,
		Params: map[string][]float32{}, Optimizer: state}
	for _, p := range r.Full.Params() {
		ck.Params[p.Name] = p.Value.Data
	}
	return saveCheckpoint(filepath.Join(r.Out, checkpointName), ck)
}

// restore loads a checkpoint's weights and history into the runner.
func (r *runner) restore(ck *checkpoint) error {
	if ck.RunKey != r.RunKey {
		return fmt.Errorf("the checkpoint in %s was written by a run with different flags; start afresh without -resume or use the original flags", r.Out)
	}
	for _, p := range r.Full.Params() {
		v, ok := ck.Params[p.Name]
		if !ok || len(v) != len(p.Value.Data) {
			return fmt.Errorf("checkpoint: weight %s missing or of the wrong size", p.Name)
		}
		copy(p.Value.Data, v)
	}
	r.History = append([]EpochLog(nil), ck.History...)
	r.BestAcc, r.BestEpoch = ck.BestValAccuracy, ck.BestEpoch
	return nil
}

// countCorrect counts rows of logits (N, K) whose argmax is the label.
func countCorrect(logits *tensor.Tensor, labels []int) int {
	k := logits.Shape[1]
	n := 0
	for i, y := range labels {
		if argmax(logits.Data[i*k:(i+1)*k]) == y {
			n++
		}
	}
	return n
}

// argmax returns the index of the largest value (the first on ties).
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// evaluate runs net in inference mode over src and returns the mean loss,
// the accuracy and, when k > 0, the k×k confusion matrix.
func evaluate(ctx context.Context, net *nn.Model, src batchSource, k int) (meanLoss, acc float64, cm confusion, err error) {
	if k > 0 {
		cm = newConfusion(k)
	}
	var lossSum, correct, seen float64
	err = src.Epoch(ctx, 0, 0, func(_ int, x *tensor.Tensor, labels []int) error {
		logits := net.Forward(x, false)
		l, _ := loss.Loss(logits, labels)
		lossSum += float64(l) * float64(len(labels))
		kk := logits.Shape[1]
		for i, y := range labels {
			p := argmax(logits.Data[i*kk : (i+1)*kk])
			if p == y {
				correct++
			}
			if cm != nil {
				cm.add(y, p)
			}
		}
		seen += float64(len(labels))
		return nil
	})
	if err != nil {
		return 0, 0, nil, err
	}
	if seen == 0 {
		return math.NaN(), math.NaN(), cm, nil
	}
	return lossSum / seen, correct / seen, cm, nil
}

// forwardRange runs layers [from, to) of m in inference mode.
func forwardRange(m *nn.Model, x *tensor.Tensor, from, to int) *tensor.Tensor {
	for _, l := range m.Layers()[from:to] {
		x = l.Forward(x, false)
	}
	return x
}

// extractFeatures runs the frozen layers [0, upto) over every batch of src
// (in its epoch-0 order, unshuffled sources only) and returns the stacked
// outputs with their labels: the "bottleneck features" of the Keras blog.
func extractFeatures(ctx context.Context, m *nn.Model, src batchSource, upto int, progress io.Writer, what string) (*tensor.Tensor, []int, error) {
	var feats []float32
	var labels []int
	var shape tensor.Shape
	bar := newProgressBar(progress, src.Steps())
	err := src.Epoch(ctx, 0, 0, func(step int, x *tensor.Tensor, y []int) error {
		f := forwardRange(m, x, 0, upto)
		shape = f.Shape
		feats = append(feats, f.Data...)
		labels = append(labels, y...)
		bar.update(step+1, math.NaN(), math.NaN())
		return nil
	})
	bar.finish()
	if err != nil {
		return nil, nil, fmt.Errorf("computing %s features: %w", what, err)
	}
	if len(labels) == 0 {
		return nil, nil, fmt.Errorf("computing %s features: no images", what)
	}
	s := append(tensor.Shape{len(labels)}, shape[1:]...)
	return tensor.FromData(feats, s...), labels, nil
}

// saveModelH5 writes m's weights in Keras's legacy layout.
func saveModelH5(m *nn.Model, path string) error {
	return vgg.SaveKerasWeights(m, path)
}
