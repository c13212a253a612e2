// Package optim holds gotransfer's optimizers (SGD with momentum/Nesterov,
// Adam/AdamW, Adagrad), learning-rate schedules and gradient clipping.
//
// Every optimizer keeps its per-weight state (moments) keyed by Param.Name,
// so the state survives rebuilding the model and can be saved with State and
// restored with LoadState. The per-element update rules live in the
// exported *Update functions of this file; the optimizers and the ONNX
// conformance runner both call them.
package optim

import "math"

// MomentumUpdate applies one heavy-ball step to x in place (ONNX Momentum
// semantics, which PyTorch SGD matches with alpha = momentum, beta = 1):
//
//	g  = l2·x + grad
//	b  = beta, or 1 on the first step (first == true)
//	v' = alpha·v + b·g
//	standard: x' = x − lr·v'          nesterov: x' = x − lr·(g + alpha·v')
func MomentumUpdate(x, grad, v []float32, lr, alpha, beta, l2 float32, first, nesterov bool) {
	b := beta
	if first {
		b = 1
	}
	for i := range x {
		g := l2*x[i] + grad[i]
		vn := alpha*v[i] + b*g
		v[i] = vn
		if nesterov {
			x[i] -= lr * (g + alpha*vn)
		} else {
			x[i] -= lr * vn
		}
	}
}

// AdamUpdate applies one Adam step to x in place (Keras's Adam and ONNX Adam):
//
//	g  = l2·x + grad
//	m' = β1·m + (1−β1)·g
//	v' = β2·v + (1−β2)·g²
//	r  = lr·sqrt(1−β2^t)/(1−β1^t)   (r = lr when t == 0: no bias correction)
//	x' = (1 − post)·(x − r·m'/(sqrt(v') + ε))
//
// t is the 1-based step count (Keras's iterations+1). Note ε is added to
// sqrt(v'), not to the bias-corrected sqrt(v̂) as PyTorch does. post is ONNX's
// norm_coefficient_post (0 for plain Adam).
func AdamUpdate(x, grad, m, v []float32, t int64, lr, beta1, beta2, eps, l2, post float64) {
	r := lr
	if t > 0 {
		r = lr * math.Sqrt(1-math.Pow(beta2, float64(t))) / (1 - math.Pow(beta1, float64(t)))
	}
	b1, b2, e, l, p := float32(beta1), float32(beta2), float32(eps), float32(l2), float32(post)
	rf := float32(r)
	for i := range x {
		g := l*x[i] + grad[i]
		mn := b1*m[i] + (1-b1)*g
		vn := b2*v[i] + (1-b2)*g*g
		m[i], v[i] = mn, vn
		x[i] = (1 - p) * (x[i] - rf*mn/(float32(math.Sqrt(float64(vn)))+e))
	}
}

// AdagradUpdate applies one Adagrad step to x in place (ONNX Adagrad):
//
//	r = lr/(1 + t·decay);  g = l2·x + grad;  h' = h + g²;  x' = x − r·g/(sqrt(h') + ε)
func AdagradUpdate(x, grad, h []float32, t int64, lr, decay, eps, l2 float64) {
	r := float32(lr / (1 + float64(t)*decay))
	e, l := float32(eps), float32(l2)
	for i := range x {
		g := l*x[i] + grad[i]
		hn := h[i] + g*g
		h[i] = hn
		x[i] -= r * g / (float32(math.Sqrt(float64(hn))) + e)
	}
}
