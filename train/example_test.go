package train_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// Fine-tune a classifier on a folder of images, the Keras way: a VGG16
// base (frozen), a new head, images from flow_from_directory, Adam, a
// best-model checkpoint and a CSV log, then save the model.
func ExampleFit() {
	data := exampleImages() // DIR/{train,validation}/{circles,stripes}/*.png
	defer os.RemoveAll(data)

	// VGG16 at 1/16 of its width keeps the example fast; real use takes
	// Width 1 and vgg.LoadKerasWeights(base, imagenetFile, ...) before freezing.
	spec := &train.Spec{Format: train.SpecFormat, Architecture: "vgg16", Depth: 16, Width: 1.0 / 16,
		InputShape: [3]int{32, 32, 3}, Classes: []string{"circles", "stripes"},
		Head:          train.HeadSpec{Pooling: "avg", Hidden: []int{16}, Logits: true},
		Preprocessing: train.Preprocessing{Mode: "caffe", Interpolation: "bilinear"}}
	model, _, err := train.Build(spec, 1)
	if err != nil {
		log.Fatal(err)
	}
	if err := vgg.FreezeBase(model); err != nil {
		log.Fatal(err)
	}

	opt := dataset.Options{TargetSize: [2]int{32, 32}, ClassMode: "sparse", BatchSize: 8, Seed: 1, Shuffle: true,
		Interpolation: "bilinear", Log: io.Discard, Preprocess: func(img []float32, _, _, _ int) { vgg.PreprocessPixels(img) }}
	trainSet, err := dataset.FromDirectory(filepath.Join(data, "train"), opt)
	if err != nil {
		log.Fatal(err)
	}
	opt.Shuffle, opt.Classes = false, trainSet.ClassNames()
	valSet, err := dataset.FromDirectory(filepath.Join(data, "validation"), opt)
	if err != nil {
		log.Fatal(err)
	}

	out := filepath.Join(data, "model")
	os.MkdirAll(out, 0o755)
	hist, err := train.Fit(model, train.DirectorySource(trainSet), train.DirectorySource(valSet), train.Options{
		Epochs: 3, Seed: 1, // Log: os.Stdout prints Keras's epoch lines
		Callbacks: []train.Callback{
			&train.ModelCheckpoint{Path: filepath.Join(out, "best_model.h5"), Monitor: "val_accuracy"},
			&train.CSVLogger{Path: filepath.Join(out, "history.csv")},
			&train.ReduceLROnPlateau{Monitor: "val_loss", Patience: 2},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := train.Save(out, model, spec); err != nil {
		log.Fatal(err)
	}
	fmt.Println("epochs trained:", len(hist.Epochs))
	// Output: epochs trained: 3
}

// Classify image files with a model saved by Save (or by cmd/finetune).
func ExampleLoad() {
	dir := exampleModel() // a folder with model.json and model.h5
	defer os.RemoveAll(dir)
	images := filepath.Join(exampleImages(), "validation", "circles")
	defer os.RemoveAll(filepath.Dir(filepath.Dir(images)))

	model, err := train.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	paths := []string{filepath.Join(images, "img0.png"), filepath.Join(images, "img1.png")}
	x, kept, bad, err := train.LoadImages(context.Background(), model.Spec, paths)
	if err != nil {
		log.Fatal(err)
	}
	probs := model.Predict(x) // (N, classes), softmax of the logits
	k := len(model.Spec.Classes)
	for i, path := range kept {
		row := probs.Data[i*k : (i+1)*k]
		top := train.TopK(row, 1)[0]
		sum := float32(0)
		for _, p := range row {
			sum += p
		}
		_ = top // model.Spec.Classes[top.Index] is the predicted class, top.Prob its probability
		fmt.Printf("%s: %d probabilities summing to %.3f\n", filepath.Base(path), k, sum)
	}
	fmt.Println("unreadable:", len(bad))
	// Output:
	// img0.png: 2 probabilities summing to 1.000
	// img1.png: 2 probabilities summing to 1.000
	// unreadable: 0
}

// exampleModel saves an untrained two-class model to a temporary folder.
func exampleModel() string {
	spec := &train.Spec{Format: train.SpecFormat, Architecture: "vgg16", Depth: 16, Width: 1.0 / 16,
		InputShape: [3]int{32, 32, 3}, Classes: []string{"circles", "stripes"},
		Head:          train.HeadSpec{Pooling: "avg", Hidden: []int{16}, Logits: true},
		Preprocessing: train.Preprocessing{Mode: "caffe", Interpolation: "bilinear"}}
	m, _, err := train.Build(spec, 1)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "gotransfer-example-model-")
	if err != nil {
		log.Fatal(err)
	}
	if err := train.Save(dir, m, spec); err != nil {
		log.Fatal(err)
	}
	return dir
}

// exampleImages writes 40x40 PNGs of two classes (a bright disc, vertical
// stripes) into DIR/{train,validation}/{circles,stripes}/ and returns DIR.
func exampleImages() string {
	dir, err := os.MkdirTemp("", "gotransfer-example-")
	if err != nil {
		log.Fatal(err)
	}
	for split, n := range map[string]int{"train": 8, "validation": 4} {
		for class, name := range []string{"circles", "stripes"} {
			d := filepath.Join(dir, split, name)
			os.MkdirAll(d, 0o755)
			for i := 0; i < n; i++ {
				img := image.NewRGBA(image.Rect(0, 0, 40, 40))
				for y := 0; y < 40; y++ {
					for x := 0; x < 40; x++ {
						v := uint8(30)
						if class == 0 && math.Hypot(float64(x-14-i), float64(y-18)) < 9 {
							v = 220
						} else if class == 1 && (x+i)%8 < 4 {
							v = 150
						}
						img.Set(x, y, color.RGBA{v, v, v, 255})
					}
				}
				f, err := os.Create(filepath.Join(d, fmt.Sprintf("img%d.png", i)))
				if err != nil {
					log.Fatal(err)
				}
				png.Encode(f, img)
				f.Close()
			}
		}
	}
	return dir
}
