package train

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestProgressLinesWhenNotATerminal: a log that is not a terminal gets a
// progress line every ProgressEvery and the verbose=2 line per epoch; the
// bar writer, not being a terminal either, gets nothing.
func TestProgressLinesWhenNotATerminal(t *testing.T) {
	x, y := blobs(40, 1)
	var log, bar bytes.Buffer
	_, err := Fit(mlp(t, 1), NewTensorSource(x, y, 4, true, 1), nil, Options{Epochs: 2, Log: &log, Progress: &bar,
		ProgressEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	lines := regexp.MustCompile(`(?m)^Epoch 2/2 +\d+/10 \[[=>.]{30}\] - ETA: \d+s - loss: \d+\.\d{4} - accuracy: [01]\.\d{4}$`).FindAllString(log.String(), -1)
	if len(lines) != 9 { // steps 1..9 of 10; the 10th is the epoch line
		t.Errorf("%d progress lines for epoch 2, want 9:\n%s", len(lines), log.String())
	}
	if n := strings.Count(log.String(), "Epoch 1/2 - "); n != 1 {
		t.Errorf("%d epoch lines for epoch 1, want 1", n)
	}
	if bar.Len() != 0 {
		t.Errorf("a bar was drawn on a non-terminal: %q", bar.String())
	}
}

// TestBarFitsTerminal: on a terminal of c columns every drawn line is at
// most c−1 characters (a full-width line would wrap).
func TestBarFitsTerminal(t *testing.T) {
	var b bytes.Buffer
	p := &progress{bar: &b, cols: 40, total: 100, start: time.Now()}
	for i := 1; i <= 100; i++ {
		p.last = time.Time{}
		p.update(i, 0.5, 0.5)
	}
	for _, l := range strings.Split(b.String(), "\r") {
		if len(l) > 39 {
			t.Fatalf("line of %d characters on a 40-column terminal: %q", len(l), l)
		}
	}
	if !strings.Contains(b.String(), "100/100 [====") {
		t.Errorf("bar not drawn: %q", b.String())
	}
}
