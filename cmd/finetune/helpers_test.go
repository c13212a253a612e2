package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// tinyWidth gives channels 4-8-16-32-32: a VGG16 that trains in seconds.
const tinyWidth = 0.0625

// writeShape draws one 40x40 synthetic image: class 0 "circles" is a bright
// disc on a dark background, class 1 "stripes" is vertical mid-grey stripes.
// Position, radius, phase and noise vary with i.
func writeShape(t *testing.T, path string, class, i int) {
	t.Helper()
	const n = 40
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	cx, cy := 14+float64(i*7%13), 14+float64(i*5%11)
	r := 7 + float64(i%5)
	period := 6 + i%4
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			noise := uint8((x*31 + y*17 + i*13) % 23)
			var v uint8
			if class == 0 {
				if math.Hypot(float64(x)-cx, float64(y)-cy) < r {
					v = 220
				} else {
					v = 20
				}
			} else {
				if (x+i)%period < period/2 {
					v = 150
				} else {
					v = 90
				}
			}
			img.Set(x, y, color.RGBA{v + noise/2, v, v + noise, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeShapes writes DIR/{train,validation}/{circles,stripes}/*.png and
// returns DIR.
func makeShapes(t *testing.T, nTrain, nVal int) string {
	t.Helper()
	dir := t.TempDir()
	for split, n := range map[string]int{"train": nTrain, "validation": nVal} {
		for c, name := range []string{"circles", "stripes"} {
			d := filepath.Join(dir, split, name)
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				seed := i
				if split == "validation" {
					seed = 1000 + i
				}
				writeShape(t, filepath.Join(d, "img"+strconv.Itoa(i)+".png"), c, seed)
			}
		}
	}
	return dir
}

// tinyWeights writes a Keras-layout VGG16 notop weights file at tinyWidth
// (He-normal random weights, a stand-in for a pre-trained base).
func tinyWeights(t *testing.T, includeTop bool) string {
	t.Helper()
	m, err := vgg.New(vgg.Config{Depth: 16, Width: tinyWidth, InputShape: [3]int{32, 32, 3}, IncludeTop: includeTop, Classes: 1000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	train.HeInitBase(m, 7)
	name := "tiny_notop.h5"
	if includeTop {
		name = "tiny_top.h5"
	}
	path := filepath.Join(t.TempDir(), name)
	if err := vgg.SaveKerasWeights(m, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCmd runs the command in-process and returns stdout, stderr and the
// exit status main would use.
func runCmd(t *testing.T, ctx context.Context, h *hooks, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctx, args, &out, &errb, h)
	code := exitCode(err, &errb)
	return out.String(), errb.String(), code
}

// readHistory parses history.csv into rows of column → value.
func readHistory(t *testing.T, path string) []map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]float64
	for _, r := range recs[1:] {
		row := map[string]float64{}
		for i, c := range recs[0] {
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatalf("history.csv %s=%q: %v", c, r[i], err)
			}
			row[c] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// loadModelDir loads a finetune output folder's model (model.json + file).
func loadModelDir(t *testing.T, dir, file string) *nn.Model {
	t.Helper()
	s, err := train.LoadFile(dir, file)
	if err != nil {
		t.Fatal(err)
	}
	return s.Net
}

func strconvF(x float32) string { return strconv.FormatUint(uint64(math.Float32bits(x)), 16) + "," }

// tinyWeightsSeed is tinyWeights (notop) with other random weights.
func tinyWeightsSeed(t *testing.T, seed uint64) string {
	t.Helper()
	m, err := vgg.New(vgg.Config{Depth: 16, Width: tinyWidth, InputShape: [3]int{32, 32, 3}, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	train.HeInitBase(m, seed)
	path := filepath.Join(t.TempDir(), "other_notop.h5")
	if err := vgg.SaveKerasWeights(m, path); err != nil {
		t.Fatal(err)
	}
	return path
}
