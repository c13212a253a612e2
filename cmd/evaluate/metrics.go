package main

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Scores are one class's (or one average's) precision, recall, F1 and
// support, as in sklearn's classification_report.
type Scores struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1-score"`
	Support   int     `json:"support"`
}

// Report holds classification metrics over K classes for N samples, with
// sklearn's definitions (zero_division=0):
//
//	precision_k = TP_k / (TP_k + FP_k)   (0 when class k is never predicted)
//	recall_k    = TP_k / (TP_k + FN_k)   (0 when class k has no sample)
//	F1_k        = 2·TP_k / (2·TP_k + FP_k + FN_k)   (0 when both are 0)
//	accuracy    = Σ TP_k / N
//	macro avg   = unweighted mean over the K classes (absent ones included)
//	weighted    = mean weighted by support
//
// Confusion[t][p] counts samples of true class t predicted as p (sklearn's
// confusion_matrix layout: rows true, columns predicted).
type Report struct {
	Classes   []string
	Confusion [][]int
	PerClass  []Scores
	Accuracy  float64
	Macro     Scores
	Weighted  Scores
	// MicroIsAccuracy is sklearn's rule for the summary line: "accuracy"
	// when every class occurs as a true or predicted label, else a
	// "micro avg" line (whose three scores all equal the accuracy).
	MicroIsAccuracy bool
	N               int
}

// NewReport computes the metrics of predictions pred against labels truth
// (both class indices in [0, len(classes))).
func NewReport(classes []string, truth, pred []int) (*Report, error) {
	k := len(classes)
	if len(truth) != len(pred) {
		return nil, fmt.Errorf("%d labels but %d predictions", len(truth), len(pred))
	}
	r := &Report{Classes: classes, Confusion: make([][]int, k), PerClass: make([]Scores, k), N: len(truth)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, k)
	}
	for i, t := range truth {
		p := pred[i]
		if t < 0 || t >= k || p < 0 || p >= k {
			return nil, fmt.Errorf("sample %d: label %d, prediction %d, outside 0..%d", i, t, p, k-1)
		}
		r.Confusion[t][p]++
	}
	correct := 0
	r.MicroIsAccuracy = true
	for c := 0; c < k; c++ {
		tp, support, predicted := r.Confusion[c][c], 0, 0
		for j := 0; j < k; j++ {
			support += r.Confusion[c][j]
			predicted += r.Confusion[j][c]
		}
		correct += tp
		fp, fn := predicted-tp, support-tp
		s := Scores{Precision: ratio(tp, tp+fp), Recall: ratio(tp, tp+fn), F1: ratio(2*tp, 2*tp+fp+fn), Support: support}
		r.PerClass[c] = s
		if support == 0 && predicted == 0 {
			r.MicroIsAccuracy = false
		}
		r.Macro.Precision += s.Precision / float64(k)
		r.Macro.Recall += s.Recall / float64(k)
		r.Macro.F1 += s.F1 / float64(k)
	}
	r.Accuracy = ratio(correct, len(truth))
	r.Macro.Support, r.Weighted.Support = len(truth), len(truth)
	if n := float64(len(truth)); n > 0 {
		for _, s := range r.PerClass {
			w := float64(s.Support) / n
			r.Weighted.Precision += w * s.Precision
			r.Weighted.Recall += w * s.Recall
			r.Weighted.F1 += w * s.F1
		}
	}
	// sklearn averages with np.average; summing in class order as above
	// matches it to the last bit or two, far below any printed digit.
	return r, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Text formats the report like sklearn's classification_report(digits=d):
// right-aligned names as wide as the longest name or "weighted avg",
// 9-character columns, and the accuracy (or micro avg), macro avg and
// weighted avg lines.
func (r *Report) Text(digits int) string {
	width := max(utf8.RuneCountInString("weighted avg"), digits)
	for _, c := range r.Classes {
		width = max(width, utf8.RuneCountInString(c))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support")
	row := func(name string, s Scores) {
		fmt.Fprintf(&b, "%*s  %9.*f %9.*f %9.*f %9d\n", width, name, digits, s.Precision, digits, s.Recall, digits, s.F1, s.Support)
	}
	for i, c := range r.Classes {
		row(c, r.PerClass[i])
	}
	b.WriteString("\n")
	if r.MicroIsAccuracy {
		fmt.Fprintf(&b, "%*s  %9s %9s %9.*f %9d\n", width, "accuracy", "", "", digits, r.Accuracy, r.N)
	} else {
		row("micro avg", Scores{r.Accuracy, r.Accuracy, r.Accuracy, r.N})
	}
	row("macro avg", r.Macro)
	row("weighted avg", r.Weighted)
	return b.String()
}

// Dict is the report in sklearn's output_dict=True form: one Scores per
// class name, then "accuracy" (a number) or "micro avg", "macro avg" and
// "weighted avg". Keys keep that order when marshalled by orderedJSON.
func (r *Report) Dict() [][2]any {
	var d [][2]any
	for i, c := range r.Classes {
		d = append(d, [2]any{c, r.PerClass[i]})
	}
	if r.MicroIsAccuracy {
		d = append(d, [2]any{"accuracy", r.Accuracy})
	} else {
		d = append(d, [2]any{"micro avg", Scores{r.Accuracy, r.Accuracy, r.Accuracy, r.N}})
	}
	return append(d, [2]any{"macro avg", r.Macro}, [2]any{"weighted avg", r.Weighted})
}

// ConfusionText prints the confusion matrix with class names: rows are the
// true classes ("[i] name"), columns the predicted ones, numbered [j] like
// the rows.
func (r *Report) ConfusionText() string {
	var b strings.Builder
	cw := 5
	for j, row := range r.Confusion {
		cw = max(cw, len(fmt.Sprintf("[%d]", j))+1)
		for _, v := range row {
			cw = max(cw, len(fmt.Sprint(v))+1)
		}
	}
	corner := "true \\ predicted"
	labels := make([]string, len(r.Classes))
	lw := utf8.RuneCountInString(corner)
	for i, c := range r.Classes {
		labels[i] = fmt.Sprintf("[%d] %s", i, c)
		lw = max(lw, utf8.RuneCountInString(labels[i]))
	}
	fmt.Fprintf(&b, "%-*s", lw, corner)
	for j := range r.Classes {
		fmt.Fprintf(&b, "%*s", cw, fmt.Sprintf("[%d]", j))
	}
	b.WriteString("\n")
	for i := range r.Classes {
		fmt.Fprintf(&b, "%-*s", lw, labels[i])
		for _, v := range r.Confusion[i] {
			fmt.Fprintf(&b, "%*d", cw, v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// LossFromLogits is Keras's sparse categorical cross-entropy with
// from_logits=True: the mean over samples of −log softmax(z)[y], computed
// in float64 as logsumexp(z) − z[y] (no clipping, so confident mistakes
// cost their full amount). logits holds N rows of k values.
func LossFromLogits(logits []float32, k int, truth []int) float64 {
	var sum float64
	for i, y := range truth {
		z := logits[i*k : (i+1)*k]
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v) - m)
		}
		sum += m + math.Log(s) - float64(z[y])
	}
	return sum / float64(len(truth))
}

// LossFromProbs is Keras's sparse categorical cross-entropy on softmax
// outputs: the mean of −log(clip(p[y], 1e−7, 1 − 1e−7)) (Keras clips by its
// epsilon, 1e−7).
func LossFromProbs(probs []float32, k int, truth []int) float64 {
	const eps = 1e-7
	var sum float64
	for i, y := range truth {
		p := math.Min(math.Max(float64(probs[i*k+y]), eps), 1-eps)
		sum -= math.Log(p)
	}
	return sum / float64(len(truth))
}
