// Package cmdtest holds the fixtures that the command tests (cmd/predict,
// cmd/evaluate) share: a saved model folder and small PNG images.
package cmdtest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// WritePNG writes a 40x40 RGB gradient image whose colours depend on seed.
func WritePNG(t testing.TB, path string, seed int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.RGBA{uint8(x*6 + seed*40), uint8(y*6 + seed*13), uint8((x + y + seed*7) * 3), 255})
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

// SavedModel writes a model folder (model.json + model.h5) as cmd/finetune
// would: VGG16 at width 1/16 on 32x32 inputs, a Dense(8) head with dropout
// and a 3-class logits layer (ants, bees, wasps), random weights from seed
// 11. It returns the folder and the spec, from which a test rebuilds the
// same network (train.Build and train.HeInitBase with seed 11).
func SavedModel(t testing.TB) (string, *train.Spec) {
	t.Helper()
	dir := t.TempDir()
	spec := &train.Spec{Format: train.SpecFormat, Architecture: "vgg16", Depth: 16, Width: 0.0625,
		InputShape: [3]int{32, 32, 3}, Classes: []string{"ants", "bees", "wasps"},
		Head:          train.HeadSpec{Pooling: "avg", Hidden: []int{8}, Dropout: 0.5, Logits: true},
		Preprocessing: train.Preprocessing{Mode: "caffe", Interpolation: "bilinear"}, Weights: train.WeightsName}
	m, _, err := train.Build(spec, 11)
	if err != nil {
		t.Fatal(err)
	}
	train.HeInitBase(m, 11)
	if err := vgg.SaveKerasWeights(m, filepath.Join(dir, train.WeightsName)); err != nil {
		t.Fatal(err)
	}
	if err := train.WriteSpec(dir, spec); err != nil {
		t.Fatal(err)
	}
	return dir, spec
}
