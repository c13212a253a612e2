package train

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

// Evaluation is the result of Evaluate.
type Evaluation struct {
	Loss      float64   // mean softmax cross-entropy (NaN for no samples)
	Accuracy  float64   // fraction of samples whose argmax is the label (NaN for none)
	Samples   int       // samples evaluated
	Confusion Confusion // k×k counts when Evaluate was given k > 0, else nil
}

// Evaluate runs net in inference mode over one epoch (epoch 0) of src and
// returns the mean loss, the accuracy and, when k > 0, the k×k confusion
// matrix (as Keras's model.evaluate plus sklearn's confusion_matrix).
func Evaluate(ctx context.Context, net *nn.Model, src Source, k int) (*Evaluation, error) {
	ev := &Evaluation{}
	if k > 0 {
		ev.Confusion = NewConfusion(k)
	}
	var lossSum, correct float64
	err := src.Epoch(ctx, 0, 0, func(_ int, x *tensor.Tensor, labels []int) error {
		logits := net.Forward(x, false)
		l, _ := plainLoss.Loss(logits, labels)
		lossSum += float64(l) * float64(len(labels))
		kk := logits.Shape[1]
		for i, y := range labels {
			p := Argmax(logits.Data[i*kk : (i+1)*kk])
			if p == y {
				correct++
			}
			if ev.Confusion != nil {
				ev.Confusion.Add(y, p)
			}
		}
		ev.Samples += len(labels)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ev.Samples == 0 {
		ev.Loss, ev.Accuracy = math.NaN(), math.NaN()
		return ev, nil
	}
	ev.Loss, ev.Accuracy = lossSum/float64(ev.Samples), correct/float64(ev.Samples)
	return ev, nil
}

// Confusion counts predictions: m[true][predicted].
type Confusion [][]int

// NewConfusion returns a zero k×k matrix.
func NewConfusion(k int) Confusion {
	m := make(Confusion, k)
	for i := range m {
		m[i] = make([]int, k)
	}
	return m
}

// Add records one sample.
func (m Confusion) Add(truth, predicted int) { m[truth][predicted]++ }

// Accuracy is the trace over the total (NaN when empty).
func (m Confusion) Accuracy() float64 {
	right, all := 0, 0
	for i, row := range m {
		for j, n := range row {
			all += n
			if i == j {
				right += n
			}
		}
	}
	if all == 0 {
		return math.NaN()
	}
	return float64(right) / float64(all)
}

// Write prints the matrix (rows: true class, columns: predicted class) and
// each class's accuracy (its recall: right / samples of that class).
func (m Confusion) Write(w io.Writer, classes []string) {
	width := 8
	for _, c := range classes {
		width = max(width, len(c)+1)
	}
	width = min(width, 24)
	name := func(s string) string {
		if len(s) > width-1 {
			return s[:width-1]
		}
		return s
	}
	fmt.Fprintln(w, "Confusion matrix (rows: true class, columns: predicted class):")
	fmt.Fprintf(w, "%*s", width, "")
	for _, c := range classes {
		fmt.Fprintf(w, " %*s", width, name(c))
	}
	fmt.Fprintln(w)
	for i, row := range m {
		fmt.Fprintf(w, "%*s", width, name(classes[i]))
		for _, n := range row {
			fmt.Fprintf(w, " %*d", width, n)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Per-class accuracy:")
	for i, row := range m {
		total := 0
		for _, n := range row {
			total += n
		}
		acc := math.NaN()
		if total > 0 {
			acc = float64(row[i]) / float64(total)
		}
		fmt.Fprintf(w, "%*s  %.4f (%d/%d)\n", width, name(classes[i]), acc, row[i], total)
	}
}
