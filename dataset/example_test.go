package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/vgg"
)

// exampleData writes a tiny torchvision-style folder: train/ and val/,
// two classes, n solid-colour PNGs per class and split.
func exampleData(n int) string {
	root, err := os.MkdirTemp("", "dataset-example")
	if err != nil {
		panic(err)
	}
	colours := map[string]color.NRGBA{"ants": {200, 30, 30, 255}, "bees": {240, 200, 20, 255}}
	for _, split := range []string{"train", "val"} {
		for class, c := range colours {
			dir := filepath.Join(root, split, class)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				panic(err)
			}
			for i := 0; i < n; i++ {
				img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
				for p := 0; p < len(img.Pix); p += 4 {
					copy(img.Pix[p:], []uint8{c.R, c.G, c.B, c.A})
				}
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d.png", i)))
				if err != nil {
					panic(err)
				}
				png.Encode(f, img)
				f.Close()
			}
		}
	}
	return root
}

// A data folder in torchvision's layout (train/ + val/), read with the
// caffe preprocessing the ImageNet VGG weights expect (vgg.PreprocessHook:
// BGR, ImageNet mean subtracted, 0..255 scale; no Rescale) and Keras's
// classic augmentation plus brightness and channel shifts.
func Example() {
	root := exampleData(3)
	defer os.RemoveAll(root)

	splits, warnings, err := dataset.FindSplits(root, 0)
	if err != nil {
		panic(err)
	}
	for _, w := range warnings {
		fmt.Println(w)
	}
	opt := dataset.Options{
		TargetSize: [2]int{32, 32}, BatchSize: 4, ClassMode: "sparse", Seed: 1,
		Preprocess: vgg.PreprocessHook,
		Log:        os.Stdout,
	}
	trainOpt := opt
	trainOpt.Shuffle = true
	trainOpt.Augment = &dataset.Augment{ShearRange: 0.2, ZoomRange: 0.2, HorizontalFlip: true,
		BrightnessRange: [2]float64{0.8, 1.2}, ChannelShiftRange: 20}
	train, err := dataset.FromDirectory(splits.Train, trainOpt)
	if err != nil {
		panic(err)
	}
	opt.Classes = train.ClassNames()
	val, err := dataset.FromDirectory(splits.Validation, opt)
	if err != nil {
		panic(err)
	}
	it := val.Epoch(context.Background(), 0)
	defer it.Close()
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		// Pixel (0, 0) of the first image: B−103.939, G−116.779, R−123.68.
		fmt.Printf("batch %v labels %v first pixel %.3f\n", b.X.Shape, b.Labels, b.X.Data[:3])
	}
	// Output:
	// Found 6 images belonging to 2 classes.
	// Found 6 images belonging to 2 classes.
	// batch (4, 32, 32, 3) labels [0 0 0 1] first pixel [-73.939 -86.779 76.320]
	// batch (2, 32, 32, 3) labels [1 1] first pixel [-83.939 83.221 116.320]
}

// LoadImage decodes one file exactly as the pipeline decodes it, for
// prediction or feature extraction.
func ExampleLoadImage() {
	root := exampleData(1)
	defer os.RemoveAll(root)

	x, err := dataset.LoadImage(filepath.Join(root, "val", "bees", "0.png"), dataset.Options{
		TargetSize: [2]int{224, 224}, Interpolation: "bilinear", Preprocess: vgg.PreprocessHook})
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Shape, x.Data[:3])
	// Output: (1, 224, 224, 3) [-83.939 83.221 116.32]
}

// FindSplits recognises train/ with validation/, val/ or valid/, and says
// loudly when there is no validation data.
func ExampleFindSplits() {
	root, _ := os.MkdirTemp("", "splits-example")
	defer os.RemoveAll(root)
	for _, d := range []string{"train/cats", "train/dogs", "test/cats"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	s, warnings, err := dataset.FindSplits(root, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(filepath.Base(s.Train), s.Validation == "", len(s.Ignored))
	fmt.Println(len(warnings))
	// Output:
	// train true 1
	// 2
}

// ClassFolders and ListImageFiles list a folder exactly as FromDirectory
// does, without opening a file: classes sorted by name, each class walked
// like sorted(os.walk()), names kept by extension in any case.
func ExampleListImageFiles() {
	root, _ := os.MkdirTemp("", "list-example")
	defer os.RemoveAll(root)
	for _, f := range []string{"cats/b.png", "cats/A.JPG", "cats/sub/c.png", "cats/notes.txt", "dogs/1.webp"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755)
		os.WriteFile(filepath.Join(root, f), nil, 0o644)
	}
	classes, err := dataset.ClassFolders(root)
	if err != nil {
		panic(err)
	}
	for _, c := range classes {
		files := dataset.ListImageFiles(filepath.Join(root, c), dataset.ListOptions{})
		for _, f := range files {
			rel, _ := filepath.Rel(root, f)
			fmt.Println(filepath.ToSlash(rel))
		}
	}
	// Output:
	// cats/A.JPG
	// cats/b.png
	// cats/sub/c.png
	// dogs/1.webp
}
