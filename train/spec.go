package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SpecFormat identifies model.json files written by cmd/finetune.
const SpecFormat = "gotransfer-model/1"

// Preprocessing says how an image's RGB pixels (0..255) become the network's
// input. Mode "caffe" is Keras's VGG16 preprocess_input (RGB→BGR, minus the
// ImageNet channel means, no scaling); mode "rescale" multiplies by Scale
// (e.g. 1/255, as ImageDataGenerator(rescale=1./255)).
type Preprocessing struct {
	Mode  string  `json:"mode"`            // "caffe" or "rescale"
	Scale float64 `json:"scale,omitempty"` // for "rescale"
	// Interpolation used to resize images to the input size at load time
	// ("nearest" like Keras's default, "bilinear" or "bicubic").
	Interpolation string `json:"interpolation,omitempty"`
	// Grayscale inputs (such as MNIST) are copied into all three channels.
	Grayscale bool `json:"grayscale,omitempty"`
}

// HeadSpec is the classifier put on the VGG base: optional global pooling,
// then Dense(units, relu) layers each followed by Dropout(rate) when rate > 0,
// then Dense(len(classes)) producing logits (softmax is applied at prediction).
type HeadSpec struct {
	Pooling string `json:"pooling"` // "avg" (GlobalAveragePooling2D), "max" or "flatten"
	// From names the base layer the head reads, e.g. "block4_pool" (Keras:
	// Model(base.input, base.get_layer("block4_pool").output)); the base
	// layers above it are left out. "" = the whole base (block5_pool).
	From    string  `json:"from,omitempty"`
	Hidden  []int   `json:"hidden"`           // units of each hidden Dense(relu) layer
	Dropout float64 `json:"dropout"`          // rate after each hidden layer (0 = none)
	Logits  bool    `json:"logits"`           // the last Dense has no activation; softmax at predict time
	Layers  []Layer `json:"layers,omitempty"` // the layers' names and types, for readers
}

// Layer names one layer of the saved network, for readers of model.json.
type Layer struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Output []int  `json:"output_shape,omitempty"` // per sample
	Params int    `json:"params,omitempty"`
	Frozen bool   `json:"frozen,omitempty"`
}

// Spec is model.json: enough to rebuild the network and feed it images the
// way training did. The weights are in model.h5 beside it (Keras legacy
// layout: root attribute layer_names, one group per layer with weight_names).
type Spec struct {
	Format        string        `json:"format"`
	Architecture  string        `json:"architecture"` // "vgg16" etc.
	Depth         int           `json:"depth"`        // 11, 13, 16 or 19
	Width         float64       `json:"width"`        // channel multiplier, 1 = the real VGG
	InputShape    [3]int        `json:"input_shape"`  // H, W, C (C = 3)
	Classes       []string      `json:"classes"`      // class names in index order
	Head          HeadSpec      `json:"head"`
	Preprocessing Preprocessing `json:"preprocessing"`
	Weights       string        `json:"weights_file"`           // "model.h5"
	BaseWeights   string        `json:"base_weights,omitempty"` // where the base came from
	Layers        []Layer       `json:"layers,omitempty"`
}

// SpecName and WeightsName are the file names cmd/finetune writes in -out.
const (
	SpecName    = "model.json"
	WeightsName = "model.h5"
)

// Validate checks a spec read from disk before anything is built from it.
func (s *Spec) Validate() error {
	if s.Format != SpecFormat {
		return fmt.Errorf("format %q, want %q", s.Format, SpecFormat)
	}
	switch s.Depth {
	case 11, 13, 16, 19:
	default:
		return fmt.Errorf("depth %d (want 11, 13, 16 or 19)", s.Depth)
	}
	if !(s.Width > 0 && s.Width <= 4) {
		return fmt.Errorf("width %g out of range (0, 4]", s.Width)
	}
	if s.InputShape[0] < 32 || s.InputShape[1] < 32 || s.InputShape[2] != 3 || s.InputShape[0] > 4096 || s.InputShape[1] > 4096 {
		return fmt.Errorf("input_shape %v: want HxWx3 with 32 <= H, W <= 4096", s.InputShape)
	}
	if len(s.Classes) < 2 || len(s.Classes) > 1<<20 {
		return fmt.Errorf("%d classes, want at least 2", len(s.Classes))
	}
	if len(s.Head.Hidden) > 16 {
		return fmt.Errorf("%d hidden head layers, at most 16 supported", len(s.Head.Hidden))
	}
	for _, u := range s.Head.Hidden {
		if u <= 0 || u > 1<<16 {
			return fmt.Errorf("head hidden units %d out of range", u)
		}
	}
	switch s.Head.Pooling {
	case "avg", "max", "flatten", "":
	default:
		return fmt.Errorf("head pooling %q (want avg, max or flatten)", s.Head.Pooling)
	}
	if s.Head.From != "" && !strings.HasPrefix(s.Head.From, "block") {
		return fmt.Errorf("head from %q: want a base layer name such as block4_pool", s.Head.From)
	}
	if !(s.Head.Dropout >= 0 && s.Head.Dropout < 1) {
		return fmt.Errorf("head dropout %g out of [0, 1)", s.Head.Dropout)
	}
	switch s.Preprocessing.Mode {
	case "caffe":
	case "rescale":
		if !(s.Preprocessing.Scale > 0) {
			return fmt.Errorf("preprocessing rescale needs a positive scale, got %g", s.Preprocessing.Scale)
		}
	default:
		return fmt.Errorf("preprocessing mode %q (want caffe or rescale)", s.Preprocessing.Mode)
	}
	return nil
}

// WriteSpec writes dir/model.json atomically.
func WriteSpec(dir string, s *Spec) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, SpecName), append(b, '\n'))
}

// ReadSpec reads and validates dir/model.json.
func ReadSpec(dir string) (*Spec, error) {
	path := filepath.Join(dir, SpecName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}
