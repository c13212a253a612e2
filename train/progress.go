package train

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// progress reports an epoch's steps: on a terminal, Keras's verbose=1 bar
// redrawn in place and cut to the terminal's width,
//
//	12/50 [=======>......................] - ETA: 31s - loss: 0.4123 - accuracy: 0.8125
//
// and on a log that is not a terminal (a pipe, a file), one such line every
// few seconds, so a long epoch is never silent.
type progress struct {
	bar     io.Writer // terminal or nil
	cols    int       // terminal width
	lines   io.Writer // periodic lines or nil
	every   time.Duration
	total   int
	prefix  string // "Epoch 3/10 " for periodic lines
	start   time.Time
	last    time.Time
	lastOut time.Time
	width   int // characters drawn last time, to blank leftovers
}

// IsTerminal reports whether w is a character device (a tty).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// terminalColumns returns w's width in columns: the terminal's (ioctl where
// available), else $COLUMNS, else 80.
func terminalColumns(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if c := ttyColumns(f); c > 0 {
			return c
		}
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	return 80
}

// newProgress starts the report of one epoch of total steps. bar is drawn on
// barW when it is a terminal; lines go to logW every `every` when logW is
// not a terminal (every 0 means 10 s, negative never).
func newProgress(barW, logW io.Writer, every time.Duration, total, epoch, epochs int) *progress {
	now := time.Now()
	p := &progress{total: total, start: now, lastOut: now, every: every}
	if barW != nil && IsTerminal(barW) {
		p.bar, p.cols = barW, terminalColumns(barW)
	}
	if p.every == 0 {
		p.every = 10 * time.Second
	}
	if logW != nil && p.every > 0 && !IsTerminal(logW) {
		p.lines = logW
		p.prefix = fmt.Sprintf("Epoch %d/%d ", epoch+1, epochs)
	}
	return p
}

// update reports that done steps (1-based) are complete with the running
// loss and accuracy (NaN: a bar without metrics). The bar is redrawn at most
// ~20 times per second except on the last step.
func (p *progress) update(done int, loss, acc float64) {
	now := time.Now()
	if p.lines != nil && done < p.total && now.Sub(p.lastOut) >= p.every {
		p.lastOut = now
		fmt.Fprintln(p.lines, p.prefix+ProgressLine(done, p.total, now.Sub(p.start), loss, acc))
	}
	if p.bar == nil || (done < p.total && now.Sub(p.last) < 50*time.Millisecond) {
		return
	}
	p.last = now
	line := ProgressLine(done, p.total, now.Sub(p.start), loss, acc)
	if p.cols > 1 && len(line) > p.cols-1 {
		line = line[:p.cols-1] // a line as wide as the terminal would wrap
	}
	pad := ""
	if n := len(line); n < p.width {
		pad = strings.Repeat(" ", p.width-n)
	}
	p.width = len(line)
	fmt.Fprintf(p.bar, "\r%s%s", line, pad)
}

// finish clears the bar so the epoch summary can take its place.
func (p *progress) finish() {
	if p.bar == nil || p.width == 0 {
		return
	}
	fmt.Fprintf(p.bar, "\r%s\r", strings.Repeat(" ", p.width))
	p.width = 0
}

// ProgressLine formats one Keras progress bar: steps, a 30-character bar,
// the ETA from the mean step time so far (or the elapsed time when done),
// and the running metrics unless loss is NaN.
func ProgressLine(done, total int, elapsed time.Duration, loss, acc float64) string {
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
		fmt.Fprintf(&b, " - ETA: %s", FormatETA(eta))
	} else {
		fmt.Fprintf(&b, " - %s", formatSeconds(elapsed))
	}
	if !math.IsNaN(loss) {
		fmt.Fprintf(&b, " - loss: %.4f - accuracy: %.4f", loss, acc)
	}
	return b.String()
}

// FormatETA prints durations as Keras does: "41s", "1:05", "1:02:03".
func FormatETA(d time.Duration) string {
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

// EpochLine is Keras's end-of-epoch summary (verbose=2):
//
//	Epoch 3/10 - 41s - loss: 0.3121 - accuracy: 0.8712 - val_loss: 0.2480 - val_accuracy: 0.9050
//
// The validation part is left out when there is no validation set (NaN).
func EpochLine(epoch, epochs int, e EpochLog) string {
	s := fmt.Sprintf("Epoch %d/%d - %s - loss: %.4f - accuracy: %.4f", epoch+1, epochs,
		formatSeconds(time.Duration(e.Seconds*float64(time.Second))), e.Loss, e.Accuracy)
	if !math.IsNaN(e.ValLoss) {
		s += fmt.Sprintf(" - val_loss: %.4f - val_accuracy: %.4f", e.ValLoss, e.ValAccuracy)
	}
	return s
}

// Progress is a progress report for work outside Fit (for example feature
// extraction): a bar on a terminal, periodic lines on a log.
type Progress struct{ p *progress }

// NewProgress starts a report of total steps named what (in periodic lines).
func NewProgress(bar, log io.Writer, total int, what string) *Progress {
	p := newProgress(bar, log, 0, total, 0, 1)
	if p.lines != nil {
		p.prefix = what + " "
	}
	return &Progress{p}
}

// Update reports done steps (1-based).
func (p *Progress) Update(done int) { p.p.update(done, math.NaN(), math.NaN()) }

// Finish clears the bar.
func (p *Progress) Finish() { p.p.finish() }
