// Package vgg builds Keras's VGG networks (VGG11/13/16/19, optionally at a
// reduced channel width) as nn.Models whose layer names match Keras exactly,
// loads and saves Keras legacy HDF5 weight files (the ImageNet files and
// tf.keras/Keras 3 .h5 saves), downloads Keras's ImageNet weights into the
// Keras cache, preprocesses images in Keras's 'caffe' mode, and names the
// 1000 ImageNet classes.
//
// Layers (VGG16 shown; block b has 1-4 convs depending on Depth):
//
//	block1_conv1 block1_conv2 block1_pool          3x3 'same' Conv2D + ReLU (64 ch), 2x2/2 MaxPooling2D
//	block2_conv1 block2_conv2 block2_pool          128 ch
//	block3_conv1..3           block3_pool          256 ch
//	block4_conv1..3           block4_pool          512 ch
//	block5_conv1..3           block5_pool          512 ch
//	IncludeTop:  flatten fc1 (4096, ReLU) fc2 (4096, ReLU) predictions (Classes, softmax)
//	otherwise:   [global_average_pooling2d | global_max_pooling2d] when Pooling is avg | max
//
// Channel counts are max(1, round(c·Width)); Width 1 is the real network.
// Data is NHWC; inputs must already be caffe-preprocessed (PreprocessInput).
package vgg

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

// BlockConvs is the number of 3x3 convolutions in each of the five blocks,
// per depth (VGG configurations A, B, D and E of Simonyan & Zisserman).
var BlockConvs = map[int][5]int{
	11: {1, 1, 2, 2, 2},
	13: {2, 2, 2, 2, 2},
	16: {2, 2, 3, 3, 3},
	19: {2, 2, 4, 4, 4},
}

// BlockChannels are the full-width output channels of blocks 1-5.
var BlockChannels = [5]int{64, 128, 256, 512, 512}

// TopUnits is the full-width size of fc1 and fc2.
const TopUnits = 4096

// Names of the optional global pooling layers, as Keras auto-names the first
// GlobalAveragePooling2D / GlobalMaxPooling2D of a model.
const (
	GlobalAvgPoolName = "global_average_pooling2d"
	GlobalMaxPoolName = "global_max_pooling2d"
)

// Config describes a VGG network. The zero value of each field picks the
// default noted beside it.
type Config struct {
	Depth      int     // 11, 13, 16 or 19 (0 = 16)
	IncludeTop bool    // add flatten, fc1, fc2, predictions
	InputShape [3]int  // (H, W, 3) per sample; each side >= 32 (zero = 224x224x3)
	Pooling    string  // without top: "none" (""), "avg" or "max" global pooling after block5_pool
	Classes    int     // predictions units with IncludeTop (0 = 1000)
	Width      float64 // channel multiplier, 1 = the real network (0 = 1)

	// Logits makes "predictions" a plain Dense (no softmax), for training
	// with nn.SoftmaxCrossEntropy. Keras's default (false) is softmax.
	Logits bool
	// ImageNet enforces Keras's rules for weights='imagenet': with
	// IncludeTop the input must be 224x224x3 and Classes 1000; Width must be 1.
	ImageNet bool
	// Channels, when nonzero, sets the five blocks' channel counts directly
	// (overriding Width), and TopChannels the fc1/fc2 size: used to rebuild
	// a network exactly from a weights file (see InspectKerasWeights).
	Channels    [5]int
	TopChannels int
	// Seed seeds the Glorot-uniform initialisation (Keras's default
	// initialiser; biases are zero).
	Seed uint64
}

// Scale returns max(1, round(c·width)): a channel count at a width multiplier.
func Scale(c int, width float64) int {
	return max(1, int(math.Round(float64(c)*width)))
}

// withDefaults fills zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Depth == 0 {
		c.Depth = 16
	}
	if c.InputShape == [3]int{} {
		c.InputShape = [3]int{224, 224, 3}
	}
	if c.Width == 0 {
		c.Width = 1
	}
	if c.Pooling == "" {
		c.Pooling = "none"
	}
	if c.Classes == 0 {
		c.Classes = 1000
	}
	var errs []string
	if _, ok := BlockConvs[c.Depth]; !ok {
		errs = append(errs, fmt.Sprintf("Depth %d is not 11, 13, 16 or 19", c.Depth))
	}
	h, w, ch := c.InputShape[0], c.InputShape[1], c.InputShape[2]
	if ch != 3 {
		errs = append(errs, fmt.Sprintf("InputShape %v must have 3 channels (H, W, 3)", c.InputShape))
	}
	if h < 32 || w < 32 {
		errs = append(errs, fmt.Sprintf("InputShape %v: height and width must be at least 32", c.InputShape))
	}
	if math.IsNaN(c.Width) || math.IsInf(c.Width, 0) || c.Width <= 0 {
		errs = append(errs, fmt.Sprintf("Width %v must be a positive number", c.Width))
	}
	switch c.Pooling {
	case "none", "avg", "max":
	default:
		errs = append(errs, fmt.Sprintf("Pooling %q is not none, avg or max", c.Pooling))
	}
	if c.IncludeTop && c.Pooling != "none" {
		errs = append(errs, fmt.Sprintf("Pooling %q applies only without the top (IncludeTop false)", c.Pooling))
	}
	if c.Classes < 1 {
		errs = append(errs, fmt.Sprintf("Classes %d must be at least 1", c.Classes))
	}
	for _, n := range c.Channels {
		if n < 0 || (n == 0) != (c.Channels[0] == 0) {
			errs = append(errs, fmt.Sprintf("Channels %v: set all five block sizes (positive) or none", c.Channels))
			break
		}
	}
	if c.TopChannels < 0 {
		errs = append(errs, fmt.Sprintf("TopChannels %d must not be negative", c.TopChannels))
	}
	if c.ImageNet {
		if c.IncludeTop && (h != 224 || w != 224) {
			errs = append(errs, fmt.Sprintf("with ImageNet weights and IncludeTop the input must be 224x224x3, got %v (set IncludeTop false for other sizes)", c.InputShape))
		}
		if c.IncludeTop && c.Classes != 1000 {
			errs = append(errs, fmt.Sprintf("with ImageNet weights and IncludeTop, Classes must be 1000, got %d", c.Classes))
		}
		if c.Width != 1 || c.Channels != [5]int{} || c.TopChannels != 0 {
			errs = append(errs, "ImageNet weights need the full-width network (Width 1)")
		}
	}
	if len(errs) > 0 {
		return c, errors.New("vgg.Config: " + strings.Join(errs, "; "))
	}
	return c, nil
}

// New builds the VGG network described by cfg, with Keras's layer names,
// Glorot-uniform kernels and zero biases. Every layer starts trainable.
func New(cfg Config) (*nn.Model, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var layers []nn.Layer
	h, w, cin := cfg.InputShape[0], cfg.InputShape[1], 3
	for b, convs := range BlockConvs[cfg.Depth] {
		cout := Scale(BlockChannels[b], cfg.Width)
		if cfg.Channels[0] != 0 {
			cout = cfg.Channels[b]
		}
		for i := 1; i <= convs; i++ {
			name := fmt.Sprintf("block%d_conv%d", b+1, i)
			layers = append(layers, nn.NewConv2D(name, 3, 3, cin, cout, nn.ConvOptions{Padding: "same", ReLU: true}))
			cin = cout
		}
		layers = append(layers, nn.NewMaxPool2D(fmt.Sprintf("block%d_pool", b+1), 2, 2, 2, 2, "valid"))
		h, w = h/2, w/2 // 'valid' 2x2/2 pooling floors odd sizes
	}
	if cfg.IncludeTop {
		units := Scale(TopUnits, cfg.Width)
		if cfg.TopChannels != 0 {
			units = cfg.TopChannels
		}
		layers = append(layers,
			nn.NewFlatten("flatten"),
			nn.NewDense("fc1", h*w*cin, units, true),
			nn.NewDense("fc2", units, units, true))
		if cfg.Logits {
			layers = append(layers, nn.NewDense("predictions", units, cfg.Classes, false))
		} else {
			layers = append(layers, NewSoftmaxDense("predictions", units, cfg.Classes))
		}
	} else if cfg.Pooling == "avg" {
		layers = append(layers, nn.NewGlobalAvgPool2D(GlobalAvgPoolName))
	} else if cfg.Pooling == "max" {
		layers = append(layers, nn.NewGlobalMaxPool2D(GlobalMaxPoolName))
	}
	m, err := nn.NewModel(fmt.Sprintf("vgg%d", cfg.Depth), tensor.Shape{cfg.InputShape[0], cfg.InputShape[1], 3}, layers...)
	if err != nil {
		return nil, fmt.Errorf("vgg.New: %w", err)
	}
	rng := tensor.NewRNG(cfg.Seed)
	for _, l := range m.Layers() {
		nn.InitParams(l, rng)
	}
	return m, nil
}

// IsBaseLayer reports whether name is one of the convolutional base's
// layers (block<b>_conv<i> or block<b>_pool).
func IsBaseLayer(name string) bool { return strings.HasPrefix(name, "block") }

// FreezeBase freezes every convolutional-base layer of m (block1_conv1 …
// block5_pool), like Keras's conv_base.trainable = False; other layers keep
// their flags. It fails when m has no such layer.
func FreezeBase(m *nn.Model) error {
	n := 0
	for _, l := range m.Layers() {
		if IsBaseLayer(l.Name()) {
			l.SetTrainable(false)
			n++
		}
	}
	if n == 0 {
		return errors.New("vgg.FreezeBase: the model has no block* layers")
	}
	return nil
}

// UnfreezeFrom makes layer name and every layer after it trainable and
// freezes every layer before it: the Keras fine-tuning step
// "for layer in model.layers[:i]: layer.trainable = False" with i the index
// of name (e.g. "block5_conv1" fine-tunes the last block and the head).
func UnfreezeFrom(m *nn.Model, name string) error {
	i := m.Index(name)
	if i < 0 {
		return fmt.Errorf("vgg.UnfreezeFrom: no layer %q in model", name)
	}
	n := len(m.Layers())
	m.FreezeRange(0, i)
	m.UnfreezeRange(i, n)
	return nil
}
