package main

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/train"
)

// metricsCase is one case of testdata/metrics_cases.json, computed by
// scikit-learn 1.2.1 and scipy (testdata/gen_metrics.py).
type metricsCase struct {
	Name      string                     `json:"name"`
	Classes   []string                   `json:"classes"`
	YTrue     []int                      `json:"y_true"`
	Logits    [][]float64                `json:"logits"`
	YPred     []int                      `json:"y_pred"`
	Confusion [][]int                    `json:"confusion_matrix"`
	Accuracy  float64                    `json:"accuracy"`
	Loss      float64                    `json:"loss"`
	Report    map[string]json.RawMessage `json:"report"`
	Text2     string                     `json:"text2"`
	Text4     string                     `json:"text4"`
}

func loadCases(t *testing.T) []metricsCase {
	b, err := os.ReadFile("testdata/metrics_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cs []metricsCase
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// TestMetricsMatchSklearn: predictions, confusion matrix, accuracy,
// per-class and averaged scores, the text report (digits 2 and 4) and the
// loss, against scikit-learn and scipy.
func TestMetricsMatchSklearn(t *testing.T) {
	for _, c := range loadCases(t) {
		k := len(c.Classes)
		logits := make([]float32, 0, len(c.Logits)*k)
		var pred []int
		for _, row := range c.Logits {
			r := make([]float32, k)
			for j, v := range row {
				r[j] = float32(v) // exact: the values are float32s
			}
			logits = append(logits, r...)
			pred = append(pred, train.Argmax(r))
		}
		for i := range pred {
			if pred[i] != c.YPred[i] {
				t.Fatalf("%s: sample %d predicted %d, numpy's argmax %d", c.Name, i, pred[i], c.YPred[i])
			}
		}
		r, err := NewReport(c.Classes, c.YTrue, pred)
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.Confusion {
			for j := range c.Confusion[i] {
				if r.Confusion[i][j] != c.Confusion[i][j] {
					t.Errorf("%s: confusion %v, sklearn %v", c.Name, r.Confusion, c.Confusion)
				}
			}
		}
		if !near(r.Accuracy, c.Accuracy) {
			t.Errorf("%s: accuracy %v, sklearn %v", c.Name, r.Accuracy, c.Accuracy)
		}
		for _, kv := range r.Dict() {
			name := kv[0].(string)
			raw, ok := c.Report[name]
			if !ok {
				t.Errorf("%s: key %q not in sklearn's report (keys %v)", c.Name, name, keys(c.Report))
				continue
			}
			switch v := kv[1].(type) {
			case float64:
				var want float64
				json.Unmarshal(raw, &want)
				if !near(v, want) {
					t.Errorf("%s %s: %v, sklearn %v", c.Name, name, v, want)
				}
			case Scores:
				var want struct {
					P  float64 `json:"precision"`
					R  float64 `json:"recall"`
					F1 float64 `json:"f1-score"`
					S  float64 `json:"support"`
				}
				json.Unmarshal(raw, &want)
				if !near(v.Precision, want.P) || !near(v.Recall, want.R) || !near(v.F1, want.F1) || float64(v.Support) != want.S {
					t.Errorf("%s %s: %+v, sklearn %+v", c.Name, name, v, want)
				}
			}
		}
		if len(r.Dict()) != len(c.Report) {
			t.Errorf("%s: %d report keys, sklearn %d", c.Name, len(r.Dict()), len(c.Report))
		}
		if got := r.Text(2); got != c.Text2 {
			t.Errorf("%s: digits 2 text:\n%s\nsklearn:\n%s", c.Name, got, c.Text2)
		}
		if got := r.Text(4); got != c.Text4 {
			t.Errorf("%s: digits 4 text:\n%s\nsklearn:\n%s", c.Name, got, c.Text4)
		}
		if got := LossFromLogits(logits, k, c.YTrue); !near(got, c.Loss) {
			t.Errorf("%s: loss %.17g, scipy %.17g", c.Name, got, c.Loss)
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}

// TestLossFromProbs: Keras's clipping at 1e-7, by hand.
func TestLossFromProbs(t *testing.T) {
	probs := []float32{0.25, 0.75, 0, 1}
	got := LossFromProbs(probs, 2, []int{1, 0})
	want := (-math.Log(float64(float32(0.75))) - math.Log(1e-7)) / 2
	if !near(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

func TestReportErrors(t *testing.T) {
	if _, err := NewReport([]string{"a", "b"}, []int{0, 2}, []int{0, 1}); err == nil {
		t.Error("label 2 of 2 classes accepted")
	}
	if _, err := NewReport([]string{"a", "b"}, []int{0}, []int{0, 1}); err == nil {
		t.Error("length mismatch accepted")
	}
}

// TestConfusionText: rows and columns line up, whatever the name lengths
// and the number of classes.
func TestConfusionText(t *testing.T) {
	classes := []string{"a", "a much longer class name", "c", "d", "e", "f", "g", "h", "i", "j", "k"}
	truth := []int{0, 1, 1, 10, 10, 10}
	pred := []int{0, 1, 0, 10, 3, 10}
	r, err := NewReport(classes, truth, pred)
	if err != nil {
		t.Fatal(err)
	}
	want := "true \\ predicted              [0]  [1]  [2]  [3]  [4]  [5]  [6]  [7]  [8]  [9] [10]\n" +
		"[0] a                           1    0    0    0    0    0    0    0    0    0    0\n" +
		"[1] a much longer class name    1    1    0    0    0    0    0    0    0    0    0\n"
	got := r.ConfusionText()
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "[10] k                          0    0    0    1    0    0    0    0    0    0    2\n") {
		t.Errorf("got:\n%s", got)
	}
}
