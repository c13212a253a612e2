package main

import (
	"bytes"
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gotransfer/gotransfer/internal/train"
)

// EpochLog is one row of the training history: the means over the epoch's
// training steps (running, as Keras reports them), the validation metrics at
// the end of the epoch, the learning rate used and the wall time in seconds.
type EpochLog struct {
	Epoch       int     // 0-based, as Keras's CSVLogger writes it
	Loss        float64 // mean training loss over the epoch's steps (weighted by batch size)
	Accuracy    float64 // training accuracy over the epoch
	ValLoss     float64 // validation loss (NaN when there is no validation set)
	ValAccuracy float64 // validation accuracy (NaN when there is no validation set)
	LR          float64 // learning rate during the epoch
	Seconds     float64 // wall-clock seconds of the epoch, validation included
	Stage       string  // "head" or "fine-tune"
}

// historyCSVHeader lists history.csv's columns. Keras's CSVLogger writes
// "epoch" first and then the logs' keys sorted alphabetically
// (accuracy, loss, lr, val_accuracy, val_loss); we append our extra column
// "seconds" at the end so the Keras columns keep their order.
var historyCSVHeader = []string{"epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss", "seconds"}

// historyCSV renders the history the way Keras's CSVLogger does (comma
// separator, one row per epoch, floats in full precision).
func historyCSV(h []EpochLog) []byte {
	var b bytes.Buffer
	for i, c := range historyCSVHeader {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c)
	}
	b.WriteByte('\n')
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, e := range h {
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s,%s\n", e.Epoch, f(e.Accuracy), f(e.Loss), f(e.LR),
			f(e.ValAccuracy), f(e.ValLoss), strconv.FormatFloat(e.Seconds, 'f', 3, 64))
	}
	return b.Bytes()
}

// writeHistoryCSV writes history.csv atomically.
func writeHistoryCSV(path string, h []EpochLog) error {
	return train.WriteFileAtomic(path, historyCSV(h))
}

// historyPNG draws two panels side by side, loss and accuracy against the
// epoch (1-based, as Keras prints it), training against validation.
func historyPNG(h []EpochLog) ([]byte, error) {
	panel := func(title, ylabel string, trainY, valY func(EpochLog) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = ylabel
		p.Add(plotter.NewGrid())
		tr, va := make(plotter.XYs, 0, len(h)), make(plotter.XYs, 0, len(h))
		for _, e := range h {
			tr = append(tr, plotter.XY{X: float64(e.Epoch + 1), Y: trainY(e)})
			if v := valY(e); v == v { // skip NaN (no validation set)
				va = append(va, plotter.XY{X: float64(e.Epoch + 1), Y: v})
			}
		}
		for _, s := range []struct {
			name string
			xy   plotter.XYs
			col  color.RGBA
		}{{"train", tr, color.RGBA{R: 31, G: 119, B: 180, A: 255}}, {"validation", va, color.RGBA{R: 255, G: 127, B: 14, A: 255}}} {
			if len(s.xy) == 0 {
				continue
			}
			l, pts, err := plotter.NewLinePoints(s.xy)
			if err != nil {
				return nil, err
			}
			l.Color, pts.Color = s.col, s.col
			l.Width = vg.Points(1.5)
			p.Add(l, pts)
			p.Legend.Add(s.name, l, pts)
		}
		p.Legend.Top = true
		return p, nil
	}
	lossPlot, err := panel("loss", "loss", func(e EpochLog) float64 { return e.Loss }, func(e EpochLog) float64 { return e.ValLoss })
	if err != nil {
		return nil, err
	}
	accPlot, err := panel("accuracy", "accuracy", func(e EpochLog) float64 { return e.Accuracy }, func(e EpochLog) float64 { return e.ValAccuracy })
	if err != nil {
		return nil, err
	}
	img := vgimg.New(vg.Points(900), vg.Points(350))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(10), PadY: vg.Points(10), PadTop: vg.Points(5), PadBottom: vg.Points(5), PadLeft: vg.Points(5), PadRight: vg.Points(5)}
	canvases := plot.Align([][]*plot.Plot{{lossPlot, accPlot}}, tiles, dc)
	lossPlot.Draw(canvases[0][0])
	accPlot.Draw(canvases[0][1])
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeHistoryPNG writes history.png atomically.
func writeHistoryPNG(path string, h []EpochLog) error {
	png, err := historyPNG(h)
	if err != nil {
		return fmt.Errorf("history.png: %w", err)
	}
	return train.WriteFileAtomic(path, png)
}
