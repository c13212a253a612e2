package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// Saved is a trained model read back from its folder by Load.
type Saved struct {
	Spec *Spec     // model.json
	Net  *nn.Model // the network with its trained weights
}

// Predict returns the class probabilities (N, K) of a preprocessed batch x
// (N, H, W, 3), as LoadImages returns it.
func (s *Saved) Predict(x *tensor.Tensor) *tensor.Tensor {
	return Predict(s.Net, x, s.Spec.Head.Logits)
}

// Load rebuilds a saved model from its folder: dir/model.json describes the
// network (Build), dir/model.h5 holds its weights (Keras's legacy layout).
// Every layer with weights must be in the file with the right shapes.
func Load(dir string) (*Saved, error) { return LoadFile(dir, "") }

// LoadFile is Load with another weights file of the folder (for example
// best_model.h5; "" means model.json's weights_file, normally model.h5).
func LoadFile(dir, weightsFile string) (*Saved, error) {
	spec, err := ReadSpec(dir)
	if err != nil {
		return nil, err
	}
	net, _, err := Build(spec, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SpecName), err)
	}
	if weightsFile == "" {
		weightsFile = spec.Weights
	}
	if weightsFile == "" {
		weightsFile = WeightsName
	}
	if !filepath.IsAbs(weightsFile) {
		weightsFile = filepath.Join(dir, weightsFile)
	}
	if err := vgg.LoadKerasWeights(net, weightsFile, vgg.LoadOptions{}); err != nil {
		return nil, err
	}
	return &Saved{Spec: spec, Net: net}, nil
}

// Save writes m as a folder Load reads: dir/model.h5 (the weights, Keras's
// legacy layout) and then dir/model.json (spec, with its Layers and
// Weights filled in from m), each atomically. dir is created if needed.
func Save(dir string, m *nn.Model, spec *Spec) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := vgg.SaveKerasWeights(m, filepath.Join(dir, WeightsName)); err != nil {
		return err
	}
	s := *spec
	s.Weights = WeightsName
	s.Layers = DescribeLayers(m)
	return WriteSpec(dir, &s)
}

// DescribeLayers lists m's layers for model.json: name, type, output shape
// per sample, weight count and whether the layer is frozen.
func DescribeLayers(m *nn.Model) []Layer {
	var ls []Layer
	s := append(tensor.Shape{1}, m.InputShape()...)
	for _, l := range m.Layers() {
		s, _ = l.OutputShape(s)
		n := 0
		for _, p := range l.Params() {
			n += p.Value.Size()
		}
		ls = append(ls, Layer{Name: l.Name(), Type: l.Type(), Output: append([]int(nil), s[1:]...), Params: n, Frozen: !l.Trainable() && n > 0})
	}
	return ls
}

// DatasetOptions returns the dataset options that read images the way the
// model saw them in training: TargetSize is the spec's input size (height,
// width), Interpolation its load-time resize filter, and Preprocess its
// preprocessing (vgg.PreprocessHook for "caffe", else multiplication by
// Preprocessing.Scale). Messages go to log (nil: the dataset default).
// LoadImages, cmd/predict and cmd/evaluate read images with it.
func (s *Spec) DatasetOptions(log io.Writer) dataset.Options {
	prep := s.Preprocessing
	opt := dataset.Options{TargetSize: [2]int{s.InputShape[0], s.InputShape[1]}, Interpolation: prep.Interpolation, Log: log}
	if prep.Mode == "caffe" {
		opt.Preprocess = vgg.PreprocessHook
	} else {
		scale := float32(prep.Scale)
		opt.Preprocess = func(img []float32, _, _, _ int) {
			for i := range img {
				img[i] *= scale
			}
		}
	}
	return opt
}

// LoadImages reads image files the way training read them
// (dataset.LoadImage: the pipeline's decoding, colour conversion and
// load-time resize to the spec's input size with its interpolation, then
// the spec's preprocessing) and returns them as one batch (N, H, W, 3).
// Files that cannot be used are reported in bad (path → reason) and left
// out; kept lists the paths of the batch's rows. It is an error when no
// file is usable.
func LoadImages(ctx context.Context, spec *Spec, paths []string) (x *tensor.Tensor, kept []string, bad map[string]string, err error) {
	opt := spec.DatasetOptions(nil)
	bad = map[string]string{}
	var rows []*tensor.Tensor
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, nil, bad, err
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			bad[p] = "is a folder"
			continue
		}
		img, err := dataset.LoadImageContext(ctx, p, opt)
		if err != nil {
			bad[p] = err.Error()
			continue
		}
		rows = append(rows, img)
		kept = append(kept, p)
	}
	if len(rows) == 0 {
		return nil, nil, bad, errors.New("no readable image files")
	}
	per := rows[0].Size()
	x = tensor.New(len(rows), spec.InputShape[0], spec.InputShape[1], spec.InputShape[2])
	for i, r := range rows {
		copy(x.Data[i*per:(i+1)*per], r.Data)
	}
	return x, kept, bad, nil
}

// Predict runs net in inference mode in batches of 32 and returns the class
// probabilities (N, K): softmax of the logits for a head trained from
// logits, or the network's own softmax output.
func Predict(net *nn.Model, x *tensor.Tensor, logits bool) *tensor.Tensor {
	n := x.Shape[0]
	var out *tensor.Tensor
	for i := 0; i < n; i += 32 {
		y := net.Forward(x.Batch(i, min(i+32, n)), false)
		if logits {
			y = Softmax(y)
		}
		if out == nil {
			out = tensor.New(n, y.Shape[1])
		}
		copy(out.Data[i*y.Shape[1]:], y.Data)
	}
	return out
}

// Ranked is one class with its probability.
type Ranked struct {
	Index int
	Prob  float32
}

// TopK returns the k most probable classes of one row of probabilities,
// most probable first (ties by index).
func TopK(probs []float32, k int) []Ranked {
	r := make([]Ranked, len(probs))
	for i, p := range probs {
		r[i] = Ranked{i, p}
	}
	sort.SliceStable(r, func(a, b int) bool { return r[a].Prob > r[b].Prob })
	if k < len(r) {
		r = r[:k]
	}
	return r
}
