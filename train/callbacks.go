package train

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"strings"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/vgg"
)

// Callback is called by Fit at the end of every epoch, after validation,
// with that epoch's log (Keras's on_epoch_end). A callback may also have
// any of these methods, which Fit calls when present:
//
//	TrainBegin(*Run) error          // a fresh Fit starts (not a resumed one)
//	EpochBegin(*Run, epoch int) error // before an epoch's first step
//	TrainEnd(*Run) error            // Fit finished its epochs or was stopped
//
// An error from any of them ends Fit with that error.
type Callback interface {
	EpochEnd(r *Run, log EpochLog) error
}

// StatefulCallback is a Callback whose state must survive an interruption:
// Fit stores State() in every checkpoint and hands it back to LoadState on
// resume, so the resumed run decides exactly as the uninterrupted one.
type StatefulCallback interface {
	Callback
	State() ([]byte, error) // non-empty
	LoadState([]byte) error
}

// CallbackFunc is a user function called at the end of every epoch.
type CallbackFunc func(r *Run, log EpochLog) error

// EpochEnd calls f.
func (f CallbackFunc) EpochEnd(r *Run, log EpochLog) error { return f(r, log) }

// Monitored returns the value of metric in log and the metric actually read:
// a validation metric ("val_loss", "val_accuracy") falls back to its
// training counterpart when the epoch had no validation set (NaN).
func Monitored(log EpochLog, metric string) (float64, string) {
	v := log.Metric(metric)
	if math.IsNaN(v) && strings.HasPrefix(metric, "val_") {
		metric = strings.TrimPrefix(metric, "val_")
		v = log.Metric(metric)
	}
	return v, metric
}

// CheckMonitor reports an error for a metric name Fit does not log.
func CheckMonitor(metric string) error {
	switch metric {
	case "loss", "accuracy", "val_loss", "val_accuracy":
		return nil
	}
	return fmt.Errorf("monitor %q: want val_loss, val_accuracy, loss or accuracy", metric)
}

// higherIsBetter resolves Keras's mode: "min", "max", or "auto"/"" (max
// for accuracies, min otherwise).
func higherIsBetter(mode, metric string) bool {
	switch mode {
	case "max":
		return true
	case "min":
		return false
	}
	return strings.Contains(metric, "acc")
}

// improves reports whether v beats best by more than delta in the given
// direction (Keras: np.less(v, best − delta) or np.greater(v, best + delta)).
func improves(v, best, delta float64, higher bool) bool {
	if higher {
		return v > best+delta
	}
	return v < best-delta
}

func worst(higher bool) float64 {
	if higher {
		return math.Inf(-1)
	}
	return math.Inf(1)
}

func gobBytes(v any) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}

func gobLoad(b []byte, v any) error { return gob.NewDecoder(bytes.NewReader(b)).Decode(v) }

// EarlyStopping stops training when the monitored metric has not improved
// for Patience epochs, as Keras's EarlyStopping (start_from_epoch and
// baseline aside). With RestoreBestWeights, the trainable weights of the
// best epoch are put back when it stops.
type EarlyStopping struct {
	Monitor            string  // "val_loss" (default), "val_accuracy", "loss" or "accuracy"
	Mode               string  // "auto" (default), "min" or "max"
	MinDelta           float64 // an improvement must exceed this
	Patience           int     // epochs without improvement before stopping
	RestoreBestWeights bool
	st                 earlyState
}

type earlyState struct {
	Wait, BestEpoch, StoppedEpoch int
	Best                          float64
	Started                       bool
	Weights                       map[string][]float32 // trainable weights of the best epoch
}

func (c *EarlyStopping) monitor() string {
	if c.Monitor == "" {
		return "val_loss"
	}
	return c.Monitor
}

// TrainBegin resets the state, as Keras does at the start of every fit.
func (c *EarlyStopping) TrainBegin(*Run) error {
	c.st = earlyState{BestEpoch: -1, StoppedEpoch: -1, Best: worst(higherIsBetter(c.Mode, c.monitor())), Started: true}
	return nil
}

// EpochEnd counts epochs without improvement and stops training after Patience.
func (c *EarlyStopping) EpochEnd(r *Run, log EpochLog) error {
	if !c.st.Started {
		c.TrainBegin(r)
	}
	v, _ := Monitored(log, c.monitor())
	if c.RestoreBestWeights && c.st.Weights == nil {
		c.st.Weights = snapshot(r.Model)
	}
	c.st.Wait++
	if improves(v, c.st.Best, c.MinDelta, higherIsBetter(c.Mode, c.monitor())) {
		c.st.Best, c.st.BestEpoch, c.st.Wait = v, log.Epoch, 0
		if c.RestoreBestWeights {
			c.st.Weights = snapshot(r.Model)
		}
		return nil
	}
	if c.st.Wait >= c.Patience && len(r.History) > 1 {
		c.st.StoppedEpoch = log.Epoch
		r.StopTraining()
		fmt.Fprintf(r.Log, "Epoch %d: early stopping (%s did not improve for %d epochs; best %.4f at epoch %d)\n",
			log.Epoch+1, c.monitor(), c.st.Wait, c.st.Best, c.st.BestEpoch+1)
		if c.RestoreBestWeights && c.st.Weights != nil {
			restore(r.Model, c.st.Weights)
			fmt.Fprintf(r.Log, "Restoring model weights from the end of the best epoch: %d.\n", c.st.BestEpoch+1)
		}
	}
	return nil
}

// StoppedEpoch returns the epoch at which it stopped training, or −1.
func (c *EarlyStopping) StoppedEpoch() int { return c.st.StoppedEpoch }

// BestEpoch returns the best epoch seen so far (−1 before any).
func (c *EarlyStopping) BestEpoch() int { return c.st.BestEpoch }

// State returns the counters, the best value and the best weights.
func (c *EarlyStopping) State() ([]byte, error) { return gobBytes(c.st) }

// LoadState restores what State returned.
func (c *EarlyStopping) LoadState(b []byte) error { return gobLoad(b, &c.st) }

// snapshot copies m's trainable weights by name.
func snapshot(m *nn.Model) map[string][]float32 {
	w := map[string][]float32{}
	for _, p := range m.TrainableParams() {
		w[p.Name] = append([]float32(nil), p.Value.Data...)
	}
	return w
}

// restore copies the snapshot's weights back into m.
func restore(m *nn.Model, w map[string][]float32) {
	for _, p := range m.Params() {
		if v, ok := w[p.Name]; ok && len(v) == len(p.Value.Data) {
			copy(p.Value.Data, v)
		}
	}
}

// ReduceLROnPlateau multiplies the learning rate by Factor when the
// monitored metric has not improved by more than MinDelta for Patience
// epochs, then waits Cooldown epochs before counting again; the rate never
// goes below MinLR. It follows Keras's ReduceLROnPlateau step for step; the
// new rate applies from the next epoch.
type ReduceLROnPlateau struct {
	Monitor  string  // "val_loss" (default), "val_accuracy", "loss" or "accuracy"
	Mode     string  // "auto" (default), "min" or "max"
	Factor   float64 // new lr = lr·Factor; 0 means 0.1
	Patience int
	MinDelta float64
	Cooldown int
	MinLR    float64
	st       plateauState
}

type plateauState struct {
	Wait, Cooldown int
	Best           float64
	Started        bool
}

func (c *ReduceLROnPlateau) monitor() string {
	if c.Monitor == "" {
		return "val_loss"
	}
	return c.Monitor
}

// TrainBegin resets the counters, as Keras does at the start of every fit.
func (c *ReduceLROnPlateau) TrainBegin(*Run) error {
	c.st = plateauState{Best: worst(higherIsBetter(c.Mode, c.monitor())), Started: true}
	return nil
}

// EpochEnd lowers the optimizer's rate when the metric has stalled.
func (c *ReduceLROnPlateau) EpochEnd(r *Run, log EpochLog) error {
	if !c.st.Started {
		c.TrainBegin(r)
	}
	v, _ := Monitored(log, c.monitor())
	inCooldown := c.st.Cooldown > 0
	if inCooldown {
		c.st.Cooldown--
		c.st.Wait = 0
	}
	if improves(v, c.st.Best, c.MinDelta, higherIsBetter(c.Mode, c.monitor())) {
		c.st.Best, c.st.Wait = v, 0
		return nil
	}
	if inCooldown {
		return nil
	}
	c.st.Wait++
	if c.st.Wait < c.Patience {
		return nil
	}
	factor := c.Factor
	if factor == 0 {
		factor = 0.1
	}
	old := r.Optimizer.LR()
	if old > float64(float32(c.MinLR)) {
		lr := math.Max(old*factor, c.MinLR)
		r.Optimizer.SetLR(lr)
		fmt.Fprintf(r.Log, "Epoch %d: ReduceLROnPlateau reducing learning rate to %g.\n", log.Epoch+1, lr)
		c.st.Cooldown, c.st.Wait = c.Cooldown, 0
	}
	return nil
}

// State returns the counters and the best value.
func (c *ReduceLROnPlateau) State() ([]byte, error) { return gobBytes(c.st) }

// LoadState restores what State returned.
func (c *ReduceLROnPlateau) LoadState(b []byte) error { return gobLoad(b, &c.st) }

// ModelCheckpoint saves the model to Path after an epoch that improves the
// monitored metric (Keras's ModelCheckpoint(save_best_only=True)), or after
// every epoch with All. It keeps its best value across Fit calls, so one
// ModelCheckpoint used for both stages of the Keras recipe keeps the best
// epoch of the whole run.
type ModelCheckpoint struct {
	Path    string
	Monitor string // "val_loss" (default), "val_accuracy", "loss" or "accuracy"
	Mode    string // "auto" (default), "min" or "max"
	All     bool   // save after every epoch, not only the best
	// Save writes the model; nil means vgg.SaveKerasWeights (Keras's legacy
	// .h5 layout) of Run.SaveModel.
	Save func(m *nn.Model, path string) error
	st   checkpointState
}

type checkpointState struct {
	Best      float64
	BestEpoch int
	Metric    string // the metric actually compared (after the validation fallback)
	Seen      bool
}

func (c *ModelCheckpoint) monitor() string {
	if c.Monitor == "" {
		return "val_loss"
	}
	return c.Monitor
}

// EpochEnd saves the model when the metric improved (strictly).
func (c *ModelCheckpoint) EpochEnd(r *Run, log EpochLog) error {
	v, metric := Monitored(log, c.monitor())
	higher := higherIsBetter(c.Mode, c.monitor())
	better := !c.st.Seen || improves(v, c.st.Best, 0, higher)
	if better {
		c.st = checkpointState{Best: v, BestEpoch: log.Epoch, Metric: metric, Seen: true}
	}
	if !better && !c.All {
		return nil
	}
	save := c.Save
	if save == nil {
		save = vgg.SaveKerasWeights
	}
	return save(r.SaveModel, c.Path)
}

// Best returns the best epoch (−1 before any), its value and the metric
// compared ("accuracy" when "val_accuracy" fell back for lack of validation).
func (c *ModelCheckpoint) Best() (epoch int, value float64, metric string) {
	if !c.st.Seen {
		return -1, math.NaN(), c.monitor()
	}
	return c.st.BestEpoch, c.st.Best, c.st.Metric
}

// State returns the best value and epoch.
func (c *ModelCheckpoint) State() ([]byte, error) { return gobBytes(c.st) }

// LoadState restores what State returned.
func (c *ModelCheckpoint) LoadState(b []byte) error { return gobLoad(b, &c.st) }

// CSVLogger writes every epoch's log to Path in Keras's CSVLogger columns
// (see HistoryCSV). It rewrites the whole file atomically after each epoch,
// so a crash never leaves a torn row. With Append it keeps the rows of
// earlier Fit calls (both stages of a run in one file); without, each fresh
// Fit starts a new file, as Keras's append=False.
type CSVLogger struct {
	Path   string
	Append bool
	Rows   []EpochLog // the rows written so far
}

// TrainBegin forgets earlier rows unless Append.
func (c *CSVLogger) TrainBegin(*Run) error {
	if !c.Append {
		c.Rows = nil
	}
	return nil
}

// EpochEnd adds the row and rewrites the file.
func (c *CSVLogger) EpochEnd(_ *Run, log EpochLog) error {
	c.Rows = append(c.Rows, log)
	return WriteFileAtomic(c.Path, HistoryCSV(c.Rows))
}

// State returns the rows.
func (c *CSVLogger) State() ([]byte, error) { return gobBytes(append([]EpochLog{}, c.Rows...)) }

// LoadState restores the rows.
func (c *CSVLogger) LoadState(b []byte) error {
	c.Rows = nil
	return gobLoad(b, &c.Rows)
}

// LRScheduler sets the learning rate at the start of every epoch to
// Schedule(epoch, current rate), as Keras's LearningRateScheduler.
type LRScheduler struct {
	Schedule func(epoch int, lr float64) float64
}

// EpochBegin applies the schedule.
func (c LRScheduler) EpochBegin(r *Run, epoch int) error {
	r.Optimizer.SetLR(c.Schedule(epoch, r.Optimizer.LR()))
	return nil
}

// EpochEnd does nothing.
func (LRScheduler) EpochEnd(*Run, EpochLog) error { return nil }
