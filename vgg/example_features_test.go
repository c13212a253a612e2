package vgg_test

import (
	"fmt"
	"log"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/vgg"
)

// The features of one image: decode and resize it exactly as the training
// pipeline does, run the VGG16 base with global average pooling, and read
// one value per channel of block5. Real use builds the full-width network
// (Width 1) and loads Keras's ImageNet file from vgg.Weights; this example
// uses a 1/16-width test file so that it runs in milliseconds. The printed
// values are PyTorch's on the same PIL-resized image
// (testdata/gen_example_features.py).
func Example_features() {
	x, err := dataset.LoadImage("../dataset/testdata/resize/src_61x97.png", dataset.Options{
		TargetSize:    [2]int{64, 64},
		Interpolation: "bilinear",
		Preprocess:    vgg.PreprocessHook, // Keras's 'caffe' mode: BGR minus the ImageNet mean
	})
	if err != nil {
		log.Fatal(err)
	}
	base, err := vgg.New(vgg.Config{Depth: 16, InputShape: [3]int{64, 64, 3}, Width: 1.0 / 16, Pooling: "avg"})
	if err != nil {
		log.Fatal(err)
	}
	if err := vgg.LoadKerasWeights(base, "testdata/vgg16_notop_w16_tfkeras.h5", vgg.LoadOptions{}); err != nil {
		log.Fatal(err)
	}
	features := base.Forward(x, false) // (1, 32): one average per block5 channel
	fmt.Printf("features %v first four %.3f %.3f %.3f %.3f\n", features.Shape,
		features.Data[0], features.Data[1], features.Data[2], features.Data[3])
	// Output: features (1, 32) first four 25.922 44.966 0.000 39.111
}
