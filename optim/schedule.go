package optim

import "math"

// Schedule maps a step or epoch index (0-based) to a learning rate.
// Apply it with opt.SetLR(s.At(epoch)) at the start of each epoch (or step).
type Schedule interface {
	At(step int) float64
}

// StepDecay multiplies the rate by Factor every Every steps:
// lr = Initial · Factor^floor(step / Every)  (Keras/PyTorch StepLR).
type StepDecay struct {
	Initial, Factor float64
	Every           int
}

// At returns the rate for step.
func (s StepDecay) At(step int) float64 {
	if s.Every <= 0 {
		return s.Initial
	}
	return s.Initial * math.Pow(s.Factor, float64(step/s.Every))
}

// Cosine is linear warm-up for Warmup steps then cosine decay from Initial
// to Min over the remaining Total − Warmup steps (Keras CosineDecay with
// alpha = Min/Initial; PyTorch CosineAnnealingLR without restarts):
//
//	step < Warmup:  lr = Initial · (step+1)/Warmup
//	otherwise:      lr = Min + (Initial − Min) · ½(1 + cos(π · min(1, (step − Warmup)/(Total − Warmup))))
type Cosine struct {
	Initial, Min  float64
	Total, Warmup int
}

// At returns the rate for step.
func (c Cosine) At(step int) float64 {
	if step < c.Warmup {
		return c.Initial * float64(step+1) / float64(c.Warmup)
	}
	span := c.Total - c.Warmup
	if span <= 0 {
		return c.Min
	}
	p := math.Min(1, float64(step-c.Warmup)/float64(span))
	return c.Min + (c.Initial-c.Min)*0.5*(1+math.Cos(math.Pi*p))
}

// ReduceOnPlateau lowers the rate when a monitored metric stops improving,
// like Keras's ReduceLROnPlateau: after Patience epochs without an
// improvement larger than MinDelta, lr = max(lr·Factor, MinLR), then Cooldown
// epochs pass before counting again. Mode "min" (default, for losses) or
// "max" (for accuracies).
type ReduceOnPlateau struct {
	Factor   float64 // e.g. 0.1
	Patience int
	MinDelta float64
	Cooldown int
	MinLR    float64
	Mode     string

	best     float64
	started  bool
	wait     int
	cooldown int
}

// Observe records one epoch's metric and lowers opt's rate when due. It
// reports whether it changed the rate.
func (r *ReduceOnPlateau) Observe(metric float64, opt Optimizer) bool {
	better := func(a, b float64) bool {
		if r.Mode == "max" {
			return a > b+r.MinDelta
		}
		return a < b-r.MinDelta
	}
	if r.cooldown > 0 {
		r.cooldown--
		r.wait = 0
	}
	if !r.started || better(metric, r.best) {
		r.best, r.started, r.wait = metric, true, 0
		return false
	}
	if r.cooldown > 0 {
		return false
	}
	r.wait++
	if r.wait < r.Patience {
		return false
	}
	old := opt.LR()
	lr := math.Max(old*r.Factor, r.MinLR)
	r.wait, r.cooldown = 0, r.Cooldown
	if lr < old {
		opt.SetLR(lr)
		return true
	}
	return false
}
