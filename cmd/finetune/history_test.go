package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"

	"github.com/gotransfer/gotransfer/train"
)

// TestHistoryPNG: the legend sits in its own strip above the panels (its
// swatches are there, no curve is), and the fine-tune and best-epoch
// markers are drawn in the panels.
func TestHistoryPNG(t *testing.T) {
	var h []train.EpochLog
	for e := 0; e < 6; e++ {
		stage := "head"
		if e >= 3 {
			stage = "fine-tune"
		}
		h = append(h, train.EpochLog{Epoch: e, Loss: 1 / float64(e+1), Accuracy: 0.5 + 0.08*float64(e),
			ValLoss: 1.2 / float64(e+1), ValAccuracy: 0.5 + 0.07*float64(e) - 0.1*math.Max(0, float64(e-4)), Stage: stage})
	}
	b, err := historyPNG(h, "val_accuracy")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	strip := r.Dy() * legendBand / (350 + legendBand)
	count := func(c color.RGBA, area image.Rectangle) int {
		n := 0
		for y := area.Min.Y; y < area.Max.Y; y++ {
			for x := area.Min.X; x < area.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				d := math.Abs(float64(cr>>8)-float64(c.R)) + math.Abs(float64(cg>>8)-float64(c.G)) + math.Abs(float64(cb>>8)-float64(c.B))
				if d < 60 { // anti-aliased thin lines blend with the background
					n++
				}
			}
		}
		return n
	}
	top := image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+strip)
	body := image.Rect(r.Min.X, r.Min.Y+strip, r.Max.X, r.Max.Y)
	for name, c := range map[string]color.RGBA{"train": trainColour, "validation": valColour, "fine-tune": fineTuneColour, "best": bestColour} {
		if count(c, top) == 0 {
			t.Errorf("no %s swatch in the legend strip", name)
		}
		if count(c, body) == 0 {
			t.Errorf("no %s line in the panels", name)
		}
	}
	// The strip holds only the four swatches: a curve in it would add many
	// more pixels of its colour than a 20-point swatch has.
	if n := count(trainColour, top); n > 400 {
		t.Errorf("%d train-coloured pixels in the legend strip: a curve runs through it", n)
	}
}
