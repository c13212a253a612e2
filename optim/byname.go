package optim

import "fmt"

// KerasAdamW returns Keras's AdamW defaults: lr 1e-3, β1 0.9, β2 0.999,
// ε 1e-7, decoupled weight decay 0.004 (x −= lr·0.004·x before each
// Adam update).
func KerasAdamW() AdamConfig {
	c := KerasAdam()
	c.WeightDecay, c.Decoupled = 0.004, true
	return c
}

// KerasSGD returns Keras's SGD defaults: lr 0.01, no momentum.
func KerasSGD() SGDConfig { return SGDConfig{LR: 0.01} }

// Names lists the optimizers New knows.
var Names = []string{"adam", "sgd", "adamw"}

// Settings are the hyper-parameters New applies to its Keras defaults; a
// zero field keeps the default.
type Settings struct {
	LR          float64 // learning rate
	Momentum    float64 // sgd only
	Nesterov    bool    // sgd only
	WeightDecay float64 // adamw: decoupled decay; sgd and adam: L2 added to the gradient
}

// New returns the optimizer named "adam" (KerasAdam), "sgd" (KerasSGD) or
// "adamw" (KerasAdamW) with s applied, or an error naming the valid names.
func New(name string, s Settings) (Optimizer, error) {
	switch name {
	case "adam", "adamw":
		c := KerasAdam()
		if name == "adamw" {
			c = KerasAdamW()
		}
		if s.LR != 0 {
			c.LR = s.LR
		}
		if s.WeightDecay != 0 {
			c.WeightDecay = s.WeightDecay
		}
		return NewAdam(c), nil
	case "sgd":
		c := KerasSGD()
		if s.LR != 0 {
			c.LR = s.LR
		}
		c.Momentum, c.Nesterov, c.WeightDecay = s.Momentum, s.Nesterov, s.WeightDecay
		return NewSGD(c), nil
	}
	return nil, fmt.Errorf("optimizer %q: want adam, sgd or adamw", name)
}
