package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gotransfer/gotransfer/internal/train"
)

func TestEpochLineKerasFormat(t *testing.T) {
	e := EpochLog{Loss: 0.31214, Accuracy: 0.87123, ValLoss: 0.24804, ValAccuracy: 0.905, Seconds: 41.2}
	want := "Epoch 3/10 - 41s - loss: 0.3121 - accuracy: 0.8712 - val_loss: 0.2480 - val_accuracy: 0.9050"
	if got := epochLine(2, 10, e); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	e.ValLoss, e.ValAccuracy = math.NaN(), math.NaN()
	if got := epochLine(2, 10, e); got != "Epoch 3/10 - 41s - loss: 0.3121 - accuracy: 0.8712" {
		t.Errorf("without validation: %q", got)
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(12, 50, 12*time.Second, 0.41234, 0.8125)
	want := "12/50 [======>.......................] - ETA: 38s - loss: 0.4123 - accuracy: 0.8125"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := progressLine(7, 125, time.Second, 0.1, 0.9); !strings.HasPrefix(got, "  7/125 [>") {
		t.Errorf("padding: %q", got)
	}
	got = progressLine(50, 50, 65*time.Second, 0.1, 0.9)
	if !strings.HasPrefix(got, "50/50 [==============================] - 65s") {
		t.Errorf("finished bar %q", got)
	}
	for d, want := range map[time.Duration]string{41 * time.Second: "41s", 65 * time.Second: "1:05", 3723 * time.Second: "1:02:03"} {
		if got := formatETA(d); got != want {
			t.Errorf("formatETA(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestConfusion(t *testing.T) {
	cm := newConfusion(2)
	for _, p := range [][2]int{{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 0}} {
		cm.add(p[0], p[1])
	}
	if got := cm.accuracy(); math.Abs(got-5.0/7) > 1e-12 {
		t.Errorf("accuracy %g, want 5/7", got)
	}
	var b bytes.Buffer
	cm.write(&b, []string{"ants", "bees"})
	for _, w := range []string{"ants  0.6667 (2/3)", "bees  0.7500 (3/4)"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("confusion output lacks %q:\n%s", w, b.String())
		}
	}
}

func TestHistoryCSVColumns(t *testing.T) {
	csv := string(historyCSV([]EpochLog{{Epoch: 0, Loss: 0.5, Accuracy: 0.75, ValLoss: 0.25, ValAccuracy: 1, LR: 0.001, Seconds: 2.5}}))
	want := "epoch,accuracy,loss,lr,val_accuracy,val_loss,seconds\n0,0.75,0.5,0.001,1,0.25,2.500\n"
	if csv != want {
		t.Errorf("got\n%s\nwant\n%s", csv, want)
	}
}

func TestTranslate(t *testing.T) {
	// 3x3 single-channel image 1..9 moved right by 1 and up by 1.
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	dst := make([]float32, 9)
	translate(dst, src, 3, 3, 1, 1, -1)
	want := []float32{0, 4, 5, 0, 7, 8, 0, 0, 0}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("got %v, want %v", dst, want)
		}
	}
}

func TestParseSizeAndHead(t *testing.T) {
	if h, w, err := parseSize("150x120"); err != nil || h != 150 || w != 120 {
		t.Errorf("parseSize: %d %d %v", h, w, err)
	}
	for _, bad := range []string{"31", "0", "abc", "32x31", "1x2x3"} {
		if _, _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	if u, err := parseHead("512, 128"); err != nil || len(u) != 2 || u[0] != 512 || u[1] != 128 {
		t.Errorf("parseHead: %v %v", u, err)
	}
	if _, err := parseHead("12,x"); err == nil {
		t.Error("parseHead accepted 12,x")
	}
}

// TestInterpolationDefault: -interpolation defaults to nearest, as Keras's
// flow_from_directory does.
func TestInterpolationDefault(t *testing.T) {
	cfg, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interpolation != "nearest" {
		t.Errorf("default -interpolation %q, want nearest", cfg.Interpolation)
	}
}

// TestSummaryColumnsAligned: the transfer model's summary (with the long
// "global_average_pooling2d (GlobalAveragePooling2D)" cell) keeps every
// layer row's Output Shape column at the header's position.
func TestSummaryColumnsAligned(t *testing.T) {
	spec := demoSpec(quickPlan, digitNames(5, 9), 0.5)
	m, _, err := train.Build(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	m.Summary(&b)
	lines := strings.Split(b.String(), "\n")
	col := -1
	rows := 0
	for _, l := range lines {
		if strings.HasPrefix(l, " Layer (type)") {
			col = strings.Index(l, "Output Shape")
			continue
		}
		if col < 0 || !strings.HasPrefix(l, " ") || !strings.Contains(l, "(None") {
			continue
		}
		rows++
		if got := strings.Index(l, "(None"); got != col {
			t.Errorf("shape at column %d, header at %d: %q", got, col, l)
		}
		if l[col-1] != ' ' {
			t.Errorf("no space before the shape column: %q", l)
		}
	}
	if col < 0 || rows < 20 || !strings.Contains(b.String(), "global_average_pooling2d (GlobalAveragePooling2D)") {
		t.Fatalf("unexpected summary (%d rows):\n%s", rows, b.String())
	}
}
