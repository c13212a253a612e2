package train

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestEpochLineKerasFormat(t *testing.T) {
	e := EpochLog{Loss: 0.31214, Accuracy: 0.87123, ValLoss: 0.24804, ValAccuracy: 0.905, Seconds: 41.2}
	want := "Epoch 3/10 - 41s - loss: 0.3121 - accuracy: 0.8712 - val_loss: 0.2480 - val_accuracy: 0.9050"
	if got := EpochLine(2, 10, e); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	e.ValLoss, e.ValAccuracy = math.NaN(), math.NaN()
	if got := EpochLine(2, 10, e); got != "Epoch 3/10 - 41s - loss: 0.3121 - accuracy: 0.8712" {
		t.Errorf("without validation: %q", got)
	}
}

func TestProgressLine(t *testing.T) {
	got := ProgressLine(12, 50, 12*time.Second, 0.41234, 0.8125)
	want := "12/50 [======>.......................] - ETA: 38s - loss: 0.4123 - accuracy: 0.8125"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := ProgressLine(7, 125, time.Second, 0.1, 0.9); !strings.HasPrefix(got, "  7/125 [>") {
		t.Errorf("padding: %q", got)
	}
	got = ProgressLine(50, 50, 65*time.Second, 0.1, 0.9)
	if !strings.HasPrefix(got, "50/50 [==============================] - 65s") {
		t.Errorf("finished bar %q", got)
	}
	for d, want := range map[time.Duration]string{41 * time.Second: "41s", 65 * time.Second: "1:05", 3723 * time.Second: "1:02:03"} {
		if got := FormatETA(d); got != want {
			t.Errorf("FormatETA(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestConfusion(t *testing.T) {
	cm := NewConfusion(2)
	for _, p := range [][2]int{{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 0}} {
		cm.Add(p[0], p[1])
	}
	if got := cm.Accuracy(); math.Abs(got-5.0/7) > 1e-12 {
		t.Errorf("accuracy %g, want 5/7", got)
	}
	var b bytes.Buffer
	cm.Write(&b, []string{"ants", "bees"})
	for _, w := range []string{"ants  0.6667 (2/3)", "bees  0.7500 (3/4)"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("confusion output lacks %q:\n%s", w, b.String())
		}
	}
}

func TestHistoryCSVColumns(t *testing.T) {
	csv := string(HistoryCSV([]EpochLog{{Epoch: 0, Loss: 0.5, Accuracy: 0.75, ValLoss: 0.25, ValAccuracy: 1, LR: 0.001, Seconds: 2.5}}))
	want := "epoch,accuracy,loss,lr,val_accuracy,val_loss,seconds\n0,0.75,0.5,0.001,1,0.25,2.500\n"
	if csv != want {
		t.Errorf("got\n%s\nwant\n%s", csv, want)
	}
}
