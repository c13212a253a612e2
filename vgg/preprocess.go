package vgg

import (
	"fmt"

	"github.com/gotransfer/gotransfer/tensor"
)

// Caffe-mode channel means, in BGR order, that Keras's VGG16/VGG19
// preprocess_input subtracts (ImageNet training-set means on the 0..255 scale).
var CaffeMeanBGR = [3]float32{103.939, 116.779, 123.68}

// PreprocessInput converts x in place exactly like Keras's
// keras.applications.vgg16.preprocess_input ('caffe' mode, channels_last):
// x holds RGB images as float32 on the 0..255 scale, shape (..., 3) (usually
// NHWC); each pixel becomes BGR with the ImageNet mean subtracted and no
// scaling:
//
//	out[...,0] = B - 103.939, out[...,1] = G - 116.779, out[...,2] = R - 123.68
//
// The classic Keras-blog recipe's ImageDataGenerator(rescale=1/255) does NOT
// match the ImageNet VGG weights: they were trained on 0..255 BGR mean-centred
// inputs, so pixels scaled to 0..1 are ~255x too small and centred wrongly.
func PreprocessInput(x *tensor.Tensor) error {
	if x.Rank() == 0 || x.Dim(-1) != 3 {
		return fmt.Errorf("vgg.PreprocessInput: want channels-last RGB (..., 3), got shape %v", x.Shape)
	}
	PreprocessPixels(x.Data)
	return nil
}

// PreprocessPixels applies PreprocessInput's caffe-mode conversion in place to
// interleaved RGB pixels (one or more HWC images laid out as r,g,b,r,g,b,...,
// 0..255). Its signature suits a dataset preprocessing hook. A trailing partial
// pixel (len not a multiple of 3) is left untouched.
func PreprocessPixels(img []float32) {
	for i := 0; i+2 < len(img); i += 3 {
		r, g, b := img[i], img[i+1], img[i+2]
		img[i] = b - CaffeMeanBGR[0]
		img[i+1] = g - CaffeMeanBGR[1]
		img[i+2] = r - CaffeMeanBGR[2]
	}
}

// PreprocessHook is PreprocessPixels with the signature of
// dataset.Options.Preprocess (one (h, w, c) image, in place), so
// Options{Preprocess: vgg.PreprocessHook} gives Keras's caffe-mode input
// (leave Augment.Rescale at 0: rescale=1/255 does not match these weights).
// It panics when c is not 3, since caffe mode needs RGB.
func PreprocessHook(img []float32, h, w, c int) {
	if c != 3 || len(img) != h*w*c {
		panic(fmt.Sprintf("vgg.PreprocessHook: caffe preprocessing needs one RGB (h, w, 3) image, got (%d, %d, %d) with %d values", h, w, c, len(img)))
	}
	PreprocessPixels(img)
}
