// Package train forwards to the public package
// github.com/gotransfer/gotransfer/train, where the saved model's
// description (model.json), building and reloading the network, loading
// images and atomic writes now live. It keeps the names cmd/predict and
// cmd/features used; new code imports the public package.
package train

import (
	"context"
	"os"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	pub "github.com/gotransfer/gotransfer/train"
)

// Types of the public package, under their old names.
type (
	Spec          = pub.Spec          // model.json
	HeadSpec      = pub.HeadSpec      // the classifier head
	Preprocessing = pub.Preprocessing // how pixels become inputs
	Layer         = pub.Layer         // one layer of model.json
	Saved         = pub.Saved         // a reloaded model
	Ranked        = pub.Ranked        // one class with its probability
	StepDropout   = pub.StepDropout   // dropout re-seeded per step
)

// Constants of the public package.
const (
	SpecFormat  = pub.SpecFormat
	SpecName    = pub.SpecName
	WeightsName = pub.WeightsName
)

// Build is train.Build.
func Build(s *Spec, seed uint64) (*nn.Model, []*StepDropout, error) { return pub.Build(s, seed) }

// HeInitBase is train.HeInitBase.
func HeInitBase(m *nn.Model, seed uint64) { pub.HeInitBase(m, seed) }

// FirstHeadLayer is train.FirstHeadLayer.
func FirstHeadLayer(m *nn.Model) int { return pub.FirstHeadLayer(m) }

// LoadSaved is train.LoadFile.
func LoadSaved(dir, weightsFile string) (*Saved, error) { return pub.LoadFile(dir, weightsFile) }

// LoadImages is train.LoadImages.
func LoadImages(ctx context.Context, spec *Spec, paths []string) (*tensor.Tensor, []string, map[string]string, error) {
	return pub.LoadImages(ctx, spec, paths)
}

// Predict is train.Predict.
func Predict(net *nn.Model, x *tensor.Tensor, logits bool) *tensor.Tensor {
	return pub.Predict(net, x, logits)
}

// TopK is train.TopK.
func TopK(probs []float32, k int) []Ranked { return pub.TopK(probs, k) }

// Softmax is train.Softmax.
func Softmax(logits *tensor.Tensor) *tensor.Tensor { return pub.Softmax(logits) }

// Preprocess is train.Preprocess.
func Preprocess(p Preprocessing, x *tensor.Tensor) error { return pub.Preprocess(p, x) }

// NewStepDropout is train.NewStepDropout.
func NewStepDropout(name string, rate float64) *StepDropout { return pub.NewStepDropout(name, rate) }

// WriteSpec is train.WriteSpec.
func WriteSpec(dir string, s *Spec) error { return pub.WriteSpec(dir, s) }

// ReadSpec is train.ReadSpec.
func ReadSpec(dir string) (*Spec, error) { return pub.ReadSpec(dir) }

// WriteAtomic is train.WriteAtomic.
func WriteAtomic(path string, write func(f *os.File) error) error {
	return pub.WriteAtomic(path, write)
}

// WriteFileAtomic is train.WriteFileAtomic.
func WriteFileAtomic(path string, data []byte) error { return pub.WriteFileAtomic(path, data) }
