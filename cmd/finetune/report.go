package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// progressBar draws Keras's per-step line,
//
//	12/50 [=======>......................] - ETA: 31s - loss: 0.4123 - accuracy: 0.8125
//
// rewriting it in place with '\r'. It draws only when w is a terminal (as
// Keras does with verbose=1 on a tty); otherwise every call is a no-op so logs
// and pipes get only the per-epoch summary lines.
type progressBar struct {
	w       io.Writer
	enabled bool
	total   int
	start   time.Time
	last    time.Time
	width   int // characters drawn last time, to blank leftovers
}

// isTerminal reports whether w is a character device (a tty).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// newProgressBar starts a bar of total steps on w.
func newProgressBar(w io.Writer, total int) *progressBar {
	now := time.Now()
	return &progressBar{w: w, enabled: isTerminal(w), total: total, start: now}
}

// update redraws the bar after step done (1-based) with the running loss and
// accuracy; redraws are limited to ~20 per second except for the last step.
func (p *progressBar) update(done int, loss, acc float64) {
	if !p.enabled {
		return
	}
	now := time.Now()
	if done < p.total && now.Sub(p.last) < 50*time.Millisecond {
		return
	}
	p.last = now
	line := progressLine(done, p.total, now.Sub(p.start), loss, acc)
	pad := ""
	if n := len(line); n < p.width {
		pad = strings.Repeat(" ", p.width-n)
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// finish clears the bar so the epoch summary can take its place.
func (p *progressBar) finish() {
	if !p.enabled || p.width == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	p.width = 0
}

// progressLine formats one bar: steps, a 30-character bar, the ETA from the
// mean step time so far, and the running metrics.
func progressLine(done, total int, elapsed time.Duration, loss, acc float64) string {
	const barWidth = 30
	digits := len(fmt.Sprint(total))
	var b strings.Builder
	fmt.Fprintf(&b, "%*d/%d [", digits, done, total)
	filled := barWidth * done / max(total, 1)
	for i := 0; i < barWidth; i++ {
		switch {
		case i < filled-1 || (i == filled-1 && done == total):
			b.WriteByte('=')
		case i == filled-1 || (filled == 0 && i == 0):
			b.WriteByte('>')
		default:
			b.WriteByte('.')
		}
	}
	b.WriteByte(']')
	if done < total {
		eta := time.Duration(float64(elapsed) / float64(max(done, 1)) * float64(total-done))
		fmt.Fprintf(&b, " - ETA: %s", formatETA(eta))
	} else {
		fmt.Fprintf(&b, " - %s", formatSeconds(elapsed))
	}
	if !math.IsNaN(loss) { // NaN: a bar without metrics (feature extraction)
		fmt.Fprintf(&b, " - loss: %.4f - accuracy: %.4f", loss, acc)
	}
	return b.String()
}

// formatETA prints durations as Keras does: "41s", "1:05", "1:02:03".
func formatETA(d time.Duration) string {
	s := int(math.Round(d.Seconds()))
	switch {
	case s >= 3600:
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	case s >= 60:
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// formatSeconds prints an epoch's duration the way Keras's summary does ("41s").
func formatSeconds(d time.Duration) string {
	return fmt.Sprintf("%ds", int(math.Round(d.Seconds())))
}

// epochLine is Keras's end-of-epoch summary:
//
//	Epoch 3/10 - 41s - loss: 0.3121 - accuracy: 0.8712 - val_loss: 0.2480 - val_accuracy: 0.9050
//
// The validation part is left out when there is no validation set (NaN).
func epochLine(epoch, epochs int, e EpochLog) string {
	s := fmt.Sprintf("Epoch %d/%d - %s - loss: %.4f - accuracy: %.4f", epoch+1, epochs,
		formatSeconds(time.Duration(e.Seconds*float64(time.Second))), e.Loss, e.Accuracy)
	if !math.IsNaN(e.ValLoss) {
		s += fmt.Sprintf(" - val_loss: %.4f - val_accuracy: %.4f", e.ValLoss, e.ValAccuracy)
	}
	return s
}

// confusion counts predictions: m[true][predicted].
type confusion [][]int

// newConfusion returns a zero k×k matrix.
func newConfusion(k int) confusion {
	m := make(confusion, k)
	for i := range m {
		m[i] = make([]int, k)
	}
	return m
}

// add records one sample.
func (m confusion) add(truth, predicted int) { m[truth][predicted]++ }

// accuracy is the trace over the total (NaN when empty).
func (m confusion) accuracy() float64 {
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

// write prints the matrix (rows: true class, columns: predicted class) and
// each class's accuracy (its recall: right / samples of that class).
func (m confusion) write(w io.Writer, classes []string) {
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
