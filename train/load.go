package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

// LoadImages reads image files the way training read them (the dataset
// package's decoding, RGB conversion and load-time resize to the spec's
// input size with its interpolation), preprocesses them and returns them as
// one batch (N, H, W, 3). Files that cannot be decoded are reported in bad
// (path → reason) and left out; kept lists the paths of the batch's rows.
//
// Adapter note: the dataset package has no single-file loader yet, so the
// files are linked into a temporary one-class folder read by
// dataset.FromDirectory (sorted names keep the order).
func LoadImages(ctx context.Context, spec *Spec, paths []string) (x *tensor.Tensor, kept []string, bad map[string]string, err error) {
	tmp, err := os.MkdirTemp("", "gotransfer-predict-")
	if err != nil {
		return nil, nil, nil, err
	}
	defer os.RemoveAll(tmp)
	class := filepath.Join(tmp, "images")
	if err := os.Mkdir(class, 0o755); err != nil {
		return nil, nil, nil, err
	}
	bad = map[string]string{}
	link := map[string]string{} // link path → original
	for i, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			bad[p] = err.Error()
			continue
		}
		if st, err := os.Stat(abs); err != nil {
			bad[p] = errors.Unwrap(err).Error()
			continue
		} else if st.IsDir() {
			bad[p] = "is a folder"
			continue
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext == "" {
			ext = ".img"
		}
		// Every name gets an accepted extension: the content decides the format.
		name := filepath.Join(class, fmt.Sprintf("%08d%s", i, map[bool]string{true: ext, false: ".png"}[isListedExt(ext)]))
		if err := os.Symlink(abs, name); err != nil {
			return nil, nil, nil, err
		}
		link[name] = p
	}
	if len(link) == 0 {
		return nil, nil, bad, errors.New("no readable image files")
	}
	prep := spec.Preprocessing
	opt := dataset.Options{
		TargetSize:    [2]int{spec.InputShape[0], spec.InputShape[1]},
		ClassMode:     "sparse",
		BatchSize:     len(link),
		Interpolation: prep.Interpolation,
		Log:           io.Discard,
		Preprocess: func(img []float32, _, _, _ int) {
			if prep.Mode == "caffe" {
				vgg.PreprocessPixels(img)
			} else {
				s := float32(prep.Scale)
				for i := range img {
					img[i] *= s
				}
			}
		},
	}
	d, err := dataset.FromDirectory(tmp, opt)
	if err != nil {
		// Every file failed its header check.
		for name, orig := range link {
			bad[orig] = "not a readable image"
			_ = name
		}
		return nil, nil, bad, errors.New("no readable image files")
	}
	for _, s := range d.Skipped() {
		bad[link[s.Path]] = s.Reason
	}
	it := d.Epoch(ctx, 0)
	defer it.Close()
	b, err := it.Next()
	if err != nil {
		return nil, nil, bad, err
	}
	for _, s := range d.Skipped() {
		bad[link[s.Path]] = s.Reason
	}
	for _, f := range b.Files {
		kept = append(kept, link[f])
	}
	if len(kept) == 0 {
		return nil, nil, bad, errors.New("no readable image files")
	}
	return b.X, kept, bad, nil
}

func isListedExt(ext string) bool {
	switch ext {
	case ".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".gif", ".webp":
		return true
	}
	return false
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
