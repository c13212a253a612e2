package main

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gotransfer/gotransfer/train"
)

// historyPlot is a train callback that redraws history.png after every
// epoch from all epochs so far (both stages). It is stateful so a resumed
// run draws the epochs of the interrupted one too.
type historyPlot struct {
	Path    string
	Monitor string // the metric whose best epoch is marked
	Rows    []train.EpochLog
}

// EpochEnd adds the epoch and rewrites the image atomically.
func (p *historyPlot) EpochEnd(_ *train.Run, e train.EpochLog) error {
	p.Rows = append(p.Rows, e)
	png, err := historyPNG(p.Rows, p.Monitor)
	if err != nil {
		return fmt.Errorf("history.png: %w", err)
	}
	return train.WriteFileAtomic(p.Path, png)
}

// State returns the rows.
func (p *historyPlot) State() ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(append([]train.EpochLog{}, p.Rows...))
	return b.Bytes(), err
}

// LoadState restores the rows.
func (p *historyPlot) LoadState(b []byte) error {
	p.Rows = nil
	return gob.NewDecoder(bytes.NewReader(b)).Decode(&p.Rows)
}

// Colours of history.png (matplotlib's tab10 blue and orange for the curves).
var (
	trainColour    = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	valColour      = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	fineTuneColour = color.RGBA{R: 110, G: 110, B: 110, A: 255}
	bestColour     = color.RGBA{R: 44, G: 160, B: 44, A: 255}
)

// legendBand is the strip above the two panels that holds the legend, so
// that it never covers a curve.
const legendBand = 26

// historyPNG draws two panels side by side, loss and accuracy against the
// epoch (1-based, as Keras prints it), training against validation, with a
// dashed grey line where fine-tuning starts and a dotted green line at the
// best epoch of monitor; the legend sits in its own strip above the panels.
func historyPNG(h []train.EpochLog, monitor string) ([]byte, error) {
	fineStart := -1.0
	for i := 1; i < len(h); i++ {
		if h[i].Stage != h[i-1].Stage && h[i].Stage == "fine-tune" {
			fineStart = float64(h[i].Epoch) + 0.5 // between the last head epoch and the first fine-tune one
		}
	}
	bestEpoch := -1.0
	if len(h) > 0 {
		best := math.NaN()
		higher := monitor == "val_accuracy"
		for _, e := range h {
			v, _ := train.Monitored(e, monitor)
			if math.IsNaN(best) || (higher && v > best) || (!higher && v < best) {
				best, bestEpoch = v, float64(e.Epoch+1)
			}
		}
	}
	// The legend: one entry per slot of the strip above the panels.
	type entry struct {
		name  string
		thumb []plot.Thumbnailer
	}
	var legend []entry
	var legendAdded bool
	panel := func(title string, trainY, valY func(train.EpochLog) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = title
		p.Add(plotter.NewGrid())
		tr, va := make(plotter.XYs, 0, len(h)), make(plotter.XYs, 0, len(h))
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, e := range h {
			tr = append(tr, plotter.XY{X: float64(e.Epoch + 1), Y: trainY(e)})
			lo, hi = math.Min(lo, trainY(e)), math.Max(hi, trainY(e))
			if v := valY(e); v == v { // skip NaN (no validation set)
				va = append(va, plotter.XY{X: float64(e.Epoch + 1), Y: v})
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if !(hi > lo) {
			lo, hi = lo-0.5, hi+0.5
		}
		for _, s := range []struct {
			name string
			xy   plotter.XYs
			col  color.RGBA
		}{{"train", tr, trainColour}, {"validation", va, valColour}} {
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
			if !legendAdded {
				legend = append(legend, entry{s.name, []plot.Thumbnailer{l, pts}})
			}
		}
		marker := func(x float64, col color.RGBA, dashes []vg.Length, name string) error {
			l, err := plotter.NewLine(plotter.XYs{{X: x, Y: lo}, {X: x, Y: hi}})
			if err != nil {
				return err
			}
			l.Color, l.Dashes, l.Width = col, dashes, vg.Points(1.2)
			p.Add(l)
			if !legendAdded {
				legend = append(legend, entry{name, []plot.Thumbnailer{l}})
			}
			return nil
		}
		if fineStart > 0 {
			if err := marker(fineStart, fineTuneColour, []vg.Length{vg.Points(5), vg.Points(3)}, "fine-tuning starts"); err != nil {
				return nil, err
			}
		}
		if bestEpoch > 0 {
			if err := marker(bestEpoch, bestColour, []vg.Length{vg.Points(3), vg.Points(2)}, "best epoch ("+monitor+")"); err != nil {
				return nil, err
			}
		}
		legendAdded = true
		return p, nil
	}
	lossPlot, err := panel("loss", func(e train.EpochLog) float64 { return e.Loss }, func(e train.EpochLog) float64 { return e.ValLoss })
	if err != nil {
		return nil, err
	}
	accPlot, err := panel("accuracy", func(e train.EpochLog) float64 { return e.Accuracy }, func(e train.EpochLog) float64 { return e.ValAccuracy })
	if err != nil {
		return nil, err
	}
	img := vgimg.New(vg.Points(900), vg.Points(350+legendBand))
	dc := draw.New(img)
	top := draw.Crop(dc, 0, 0, vg.Points(350), 0) // the legend strip
	const slot = 190                              // points per legend entry
	for i, e := range legend {
		l := plot.NewLegend()
		l.Top, l.Left = true, true
		l.Add(e.name, e.thumb...)
		x := vg.Points(60 + slot*float64(i))
		l.Draw(draw.Crop(top, x, x+vg.Points(slot)-vg.Points(900), 0, -vg.Points(4)))
	}
	body := draw.Crop(dc, 0, 0, 0, -vg.Points(legendBand))
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(10), PadY: vg.Points(10), PadTop: vg.Points(5), PadBottom: vg.Points(5), PadLeft: vg.Points(5), PadRight: vg.Points(5)}
	canvases := plot.Align([][]*plot.Plot{{lossPlot, accPlot}}, tiles, body)
	lossPlot.Draw(canvases[0][0])
	accPlot.Draw(canvases[0][1])
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
