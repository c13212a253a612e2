package train

import (
	"fmt"

	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// Build returns the network a Spec describes: the VGG convolutional base
// (Keras names block1_conv1 … block5_pool, include_top=False), then the head
//
//	global_average_pooling2d | global_max_pooling2d | flatten
//	dense   (hidden[0], relu)  [dropout   (rate)]
//	dense_1 (hidden[1], relu)  [dropout_1 (rate)]
//	...
//	dense_k (len(classes))     logits; softmax is applied by Predict
//
// named as Keras auto-names a fresh model's layers. Weights are Keras's
// default initialisation (Glorot-uniform kernels, zero biases) from seed;
// load trained weights afterwards (vgg.LoadKerasWeights). It also returns
// the head's dropout layers, which training re-seeds every step.
func Build(s *Spec, seed uint64) (*nn.Model, []*StepDropout, error) {
	base, err := vgg.New(vgg.Config{
		Depth:      s.Depth,
		InputShape: s.InputShape,
		Width:      s.Width,
		Pooling:    "none",
		Seed:       seed,
	})
	if err != nil {
		return nil, nil, err
	}
	layers := append([]nn.Layer(nil), base.Layers()...)
	if s.Head.From != "" {
		// Keep block1_conv1 … From: the head reads an earlier layer.
		i := base.Index(s.Head.From)
		if i < 0 {
			return nil, nil, fmt.Errorf("head from %q: no such layer in the VGG%d base", s.Head.From, s.Depth)
		}
		layers = layers[:i+1]
	}
	out := tensor.Shape{1, s.InputShape[0], s.InputShape[1], s.InputShape[2]} // becomes (1, h, w, c)
	for _, l := range layers {
		if out, err = l.OutputShape(out); err != nil {
			return nil, nil, fmt.Errorf("head from %q: %w", s.Head.From, err)
		}
	}
	features := 0
	switch s.Head.Pooling {
	case "avg", "":
		layers = append(layers, nn.NewGlobalAvgPool2D(vgg.GlobalAvgPoolName))
		features = out[3]
	case "max":
		layers = append(layers, nn.NewGlobalMaxPool2D(vgg.GlobalMaxPoolName))
		features = out[3]
	case "flatten":
		layers = append(layers, nn.NewFlatten("flatten"))
		features = out[1] * out[2] * out[3]
	default:
		return nil, nil, fmt.Errorf("head pooling %q: want avg, max or flatten", s.Head.Pooling)
	}
	var drops []*StepDropout
	rng := tensor.NewRNG(seed ^ 0x68656164) // "head": the head's own init stream
	name := func(kind string, i int) string {
		if i == 0 {
			return kind
		}
		return fmt.Sprintf("%s_%d", kind, i)
	}
	in := features
	for i, units := range s.Head.Hidden {
		d := nn.NewDense(name("dense", i), in, units, true)
		nn.InitParams(d, rng)
		layers = append(layers, d)
		if s.Head.Dropout > 0 {
			dr := NewStepDropout(name("dropout", len(drops)), s.Head.Dropout)
			drops = append(drops, dr)
			layers = append(layers, dr)
		}
		in = units
	}
	logits := nn.NewDense(name("dense", len(s.Head.Hidden)), in, len(s.Classes), false)
	nn.InitParams(logits, rng)
	layers = append(layers, logits)
	m, err := nn.NewModel(fmt.Sprintf("vgg%d_transfer", s.Depth), tensor.Shape{s.InputShape[0], s.InputShape[1], s.InputShape[2]}, layers...)
	if err != nil {
		return nil, nil, err
	}
	return m, drops, nil
}

// HeInitBase re-initialises every convolution of m with Keras's he_normal
// (truncated normal, stddev sqrt(2/fan_in)) and zero biases: the better
// start for training a deep ReLU network without batch norm from scratch.
func HeInitBase(m *nn.Model, seed uint64) {
	rng := tensor.NewRNG(seed)
	for _, l := range m.Layers() {
		if c, ok := l.(*nn.Conv2D); ok {
			tensor.HeNormal(c.Kernel.Value, rng)
			c.Bias.Value.Zero()
		}
	}
}

// FirstHeadLayer returns the index of the first layer after the VGG base
// (the pooling layer of the head).
func FirstHeadLayer(m *nn.Model) int {
	for i, l := range m.Layers() {
		if !vgg.IsBaseLayer(l.Name()) {
			return i
		}
	}
	return len(m.Layers())
}

// Preprocess applies p to a batch of RGB images (N, H, W, 3) holding 0..255
// values, in place.
func Preprocess(p Preprocessing, x *tensor.Tensor) error {
	switch p.Mode {
	case "caffe":
		return vgg.PreprocessInput(x)
	case "rescale":
		s := float32(p.Scale)
		for i := range x.Data {
			x.Data[i] *= s
		}
		return nil
	}
	return fmt.Errorf("preprocessing mode %q", p.Mode)
}

// Softmax turns logits (N, K) into probabilities, row by row.
func Softmax(logits *tensor.Tensor) *tensor.Tensor {
	return nn.SoftmaxAxis(logits, 1, false)
}
