package nn

import (
	"fmt"
	"math"

	"github.com/gotransfer/gotransfer/tensor"
)

// SoftmaxCrossEntropy is the categorical cross-entropy of softmax(logits)
// against integer labels, computed from logits with the log-sum-exp trick
// (numerically stable for any logit magnitude).
//
// For sample i with label y_i, K classes, p = softmax(logits_i) and the
// smoothed target t = onehot(y_i)·(1−ε) + ε/K (Keras label_smoothing ε):
//
//	ℓ_i = −Σ_k t_k · log p_k,    w_i = ClassWeights[y_i] (1 without weights)
//	loss = Σ_i w_i·ℓ_i / D,      dlogits_i = w_i·(p − t) / D
//
// The normaliser D is, by default, the number of (non-ignored) samples: this
// is Keras's class_weight rule (class weights become sample weights and the
// 'sum_over_batch_size' reduction divides by the batch size). With
// WeightedMean, D = Σ_i w_i instead: ONNX SoftmaxCrossEntropyLoss
// reduction='mean' and PyTorch CrossEntropyLoss(weight=...). Without class
// weights both rules agree.
type SoftmaxCrossEntropy struct {
	ClassWeights   []float32 // per-class weight, len = classes; nil = all 1
	LabelSmoothing float32   // ε in [0, 1)
	WeightedMean   bool      // normalise by Σ w_i (ONNX/PyTorch) instead of the sample count (Keras)
	UseIgnoreIndex bool      // samples whose label is IgnoreIndex get loss 0 and weight 0
	IgnoreIndex    int
}

// PerSample returns, for logits (N, K) and N labels, the log-softmax
// (N, K), each sample's unweighted loss ℓ_i and its weight w_i (0 for an
// ignored sample). It reports an error for a bad shape or a label outside
// [0, K) that is not ignored.
func (l *SoftmaxCrossEntropy) PerSample(logits *tensor.Tensor, labels []int) (logProb *tensor.Tensor, losses, weights []float64, err error) {
	if len(logits.Shape) != 2 || logits.Shape[0] != len(labels) {
		return nil, nil, nil, fmt.Errorf("nn.SoftmaxCrossEntropy: logits %v and %d labels, want (N, K) with N = labels", logits.Shape, len(labels))
	}
	N, K := logits.Shape[0], logits.Shape[1]
	if l.ClassWeights != nil && len(l.ClassWeights) != K {
		return nil, nil, nil, fmt.Errorf("nn.SoftmaxCrossEntropy: %d class weights for %d classes", len(l.ClassWeights), K)
	}
	logProb = SoftmaxAxis(logits, -1, true)
	losses, weights = make([]float64, N), make([]float64, N)
	eps := float64(l.LabelSmoothing)
	for i, y := range labels {
		if l.UseIgnoreIndex && y == l.IgnoreIndex {
			continue
		}
		if y < 0 || y >= K {
			return nil, nil, nil, fmt.Errorf("nn.SoftmaxCrossEntropy: label %d of sample %d outside [0, %d)", y, i, K)
		}
		lp := logProb.Data[i*K : (i+1)*K]
		var ce float64
		if eps == 0 {
			ce = -float64(lp[y])
		} else {
			for k, v := range lp {
				t := eps / float64(K)
				if k == y {
					t += 1 - eps
				}
				ce -= t * float64(v)
			}
		}
		losses[i] = ce
		weights[i] = 1
		if l.ClassWeights != nil {
			weights[i] = float64(l.ClassWeights[y])
		}
	}
	return logProb, losses, weights, nil
}

// Loss returns the reduced loss and dlogits (N, K) for integer labels (see
// the type's doc for the normaliser). It panics on bad shapes or labels; use
// PerSample to get an error instead.
func (l *SoftmaxCrossEntropy) Loss(logits *tensor.Tensor, labels []int) (loss float32, dlogits *tensor.Tensor) {
	logProb, losses, weights, err := l.PerSample(logits, labels)
	if err != nil {
		panic(err.Error())
	}
	N, K := logits.Shape[0], logits.Shape[1]
	var total, norm float64
	for i := range losses {
		total += weights[i] * losses[i]
		if l.WeightedMean {
			norm += weights[i]
		} else if !(l.UseIgnoreIndex && labels[i] == l.IgnoreIndex) {
			norm++
		}
	}
	dlogits = tensor.New(N, K)
	if norm == 0 {
		return 0, dlogits
	}
	eps := float64(l.LabelSmoothing)
	for i, y := range labels {
		s := weights[i] / norm
		if s == 0 {
			continue
		}
		for k := 0; k < K; k++ {
			t := eps / float64(K)
			if k == y {
				t += 1 - eps
			}
			p := math.Exp(float64(logProb.Data[i*K+k]))
			dlogits.Data[i*K+k] = float32(s * (p - t))
		}
	}
	return float32(total / norm), dlogits
}
