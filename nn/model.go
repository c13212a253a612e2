package nn

import (
	"fmt"

	"github.com/gotransfer/gotransfer/tensor"
)

// Model is an ordered list of uniquely named layers applied in sequence
// (Keras Sequential). Layer names matter: weight files address layers by name.
type Model struct {
	name   string
	input  tensor.Shape // per sample, e.g. (224, 224, 3)
	layers []Layer
	index  map[string]int

	lowest    int   // lowest layer with trainable weights in the last training Forward (len(layers) if none)
	trained   bool  // the last Forward was a training one (Backward allowed)
	highWater int64 // max RetainedBytes summed over layers seen during Forward

	// Activation storage (stream.go).
	pool       bufPool          // buffers of the no-backward prefix
	own        []*tensor.Tensor // per-layer outputs kept across training steps
	hdr        []tensor.Tensor  // reusable tensor headers for micro-batch views
	samples    []tensor.Shape   // per-sample output shape of each layer
	plans      []streamPlan     // micro-batch segments per (batch, prefix)
	chunkBytes int64            // micro-batch budget: 0 default, <0 whole batch
	shared     modelShared      // lent to every layer while it runs
}

// NewModel builds a model for per-sample input shape input (e.g. (224,224,3)).
// It checks that names are unique and non-empty and that every layer accepts
// the previous layer's output shape.
func NewModel(name string, input tensor.Shape, layers ...Layer) (*Model, error) {
	m := &Model{name: name, input: input.Clone(), index: map[string]int{}}
	for _, l := range layers {
		if err := m.Add(l); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Name returns the model's name.
func (m *Model) Name() string { return m.name }

// Add appends l after checking its name and input shape.
func (m *Model) Add(l Layer) error {
	if l == nil {
		return fmt.Errorf("model %q: nil layer", m.name)
	}
	if l.Name() == "" {
		return fmt.Errorf("model %q: layer %d (%s) has no name", m.name, len(m.layers), l.Type())
	}
	if _, dup := m.index[l.Name()]; dup {
		return fmt.Errorf("model %q: duplicate layer name %q", m.name, l.Name())
	}
	shape := m.OutputShape(1)
	if shape == nil {
		return fmt.Errorf("model %q: cannot add %q after a layer with an invalid shape", m.name, l.Name())
	}
	if _, err := l.OutputShape(shape); err != nil {
		return fmt.Errorf("model %q: %w", m.name, err)
	}
	m.index[l.Name()] = len(m.layers)
	m.layers = append(m.layers, l)
	m.samples, m.plans, m.own, m.hdr = nil, nil, nil, nil
	return nil
}

// OutputShape returns the model output shape for a batch of n (nil if some layer rejects its input).
func (m *Model) OutputShape(n int) tensor.Shape {
	s := append(tensor.Shape{n}, m.input...)
	for _, l := range m.layers {
		var err error
		if s, err = l.OutputShape(s); err != nil {
			return nil
		}
	}
	return s
}

// Layers returns the layers in order (the slice is the model's own; do not modify).
func (m *Model) Layers() []Layer { return m.layers }

// Layer returns the layer named name, or nil.
func (m *Model) Layer(name string) Layer {
	if i, ok := m.index[name]; ok {
		return m.layers[i]
	}
	return nil
}

// Index returns the position of layer name, or −1.
func (m *Model) Index(name string) int {
	if i, ok := m.index[name]; ok {
		return i
	}
	return -1
}

// InputShape returns the per-sample input shape.
func (m *Model) InputShape() tensor.Shape { return m.input.Clone() }

// Params returns every weight in layer order, named "layer/kernel", "layer/bias".
func (m *Model) Params() []*Param {
	var ps []*Param
	for _, l := range m.layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// TrainableParams returns the weights of trainable layers.
func (m *Model) TrainableParams() []*Param {
	var ps []*Param
	for _, l := range m.layers {
		if l.Trainable() {
			ps = append(ps, l.Params()...)
		}
	}
	return ps
}

// CountParams returns the number of trainable and frozen weights (scalars).
func (m *Model) CountParams() (trainable, nonTrainable int) {
	for _, l := range m.layers {
		for _, p := range l.Params() {
			if l.Trainable() {
				trainable += p.Value.Size()
			} else {
				nonTrainable += p.Value.Size()
			}
		}
	}
	return trainable, nonTrainable
}

// LowestTrainable returns the index of the lowest layer that has weights and
// is trainable, or len(Layers()) when there is none. Backward stops there.
func (m *Model) LowestTrainable() int {
	for i, l := range m.layers {
		if l.Trainable() && len(l.Params()) > 0 {
			return i
		}
	}
	return len(m.layers)
}

// Forward runs x (N, input...) through every layer and returns a new output
// tensor, which the caller owns. With training=true it first plans backward:
// layers below the lowest trainable layer keep nothing, layers from it
// upward keep what Backward needs, and the lowest trainable layer will not
// compute dx. With training=false no layer keeps anything.
//
// The layers that keep nothing run as a stream of micro-batches through
// pooled buffers (stream.go), so their activations cost a few chunk-sized
// buffers instead of one whole-batch tensor per layer; the output is
// bit-identical to a whole-batch pass.
func (m *Model) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	if len(x.Shape) != len(m.input)+1 || !x.Shape[1:].Equal(m.input) {
		panic(fmt.Sprintf("nn: model %q: input %v, want (N, %v)", m.name, x.Shape, m.input))
	}
	m.lowest = len(m.layers)
	if training {
		m.lowest = m.LowestTrainable()
	}
	m.trained = training
	for i, l := range m.layers {
		if bp, ok := l.(BackwardPlanner); ok {
			bp.SetBackwardPlan(training && i >= m.lowest, i > m.lowest)
		}
		if b := baseOf(l); b != nil {
			b.reuse, b.shared = true, &m.shared
		}
	}
	m.shared.batch = x.Shape[0]
	m.highWater, m.pool.peak = 0, m.pool.inUse
	prefix := m.lowest // the layers that keep nothing: [0, prefix)
	if x.Shape[0] == 0 {
		prefix = 0
	}
	if prefix > 0 {
		x = m.stream(x, prefix, training)
	}
	for i := prefix; i < len(m.layers); i++ {
		l := m.layers[i]
		if b := baseOf(l); b != nil && i < len(m.layers)-1 && x.Shape[0] > 0 {
			b.dst = m.ownOutput(i, x.Shape[0])
		}
		x = l.Forward(x, training)
		if b := baseOf(l); b != nil {
			b.dst = nil
		}
		m.noteRetained()
	}
	return x
}

// Backward back-propagates dy (the gradient of the loss with respect to the
// model output) from the last layer down to the lowest trainable layer,
// filling the trainable layers' Param.Grad. Layers below it are not visited.
func (m *Model) Backward(dy *tensor.Tensor) {
	if !m.trained {
		panic(fmt.Sprintf("nn: model %q: Backward needs a Forward with training=true first", m.name))
	}
	for i := len(m.layers) - 1; i >= m.lowest && dy != nil; i-- {
		dy = m.layers[i].Backward(dy)
	}
}

// RetainedBytes sums the backward state every layer holds now.
func (m *Model) RetainedBytes() int64 {
	var total int64
	for _, l := range m.layers {
		if bp, ok := l.(BackwardPlanner); ok {
			total += bp.RetainedBytes()
		}
	}
	return total
}

// RetainedHighWater is the largest RetainedBytes seen after any layer of the last Forward.
func (m *Model) RetainedHighWater() int64 { return m.highWater }

// Freeze marks the named layers non-trainable.
func (m *Model) Freeze(names ...string) error { return m.setTrainable(false, names) }

// Unfreeze marks the named layers trainable.
func (m *Model) Unfreeze(names ...string) error { return m.setTrainable(true, names) }

func (m *Model) setTrainable(t bool, names []string) error {
	for _, n := range names {
		if _, ok := m.index[n]; !ok {
			return fmt.Errorf("model %q: no layer named %q", m.name, n)
		}
	}
	for _, n := range names {
		m.layers[m.index[n]].SetTrainable(t)
	}
	return nil
}

// FreezeRange marks layers [from, to) non-trainable (clamped to the model).
func (m *Model) FreezeRange(from, to int) { m.setRange(false, from, to) }

// UnfreezeRange marks layers [from, to) trainable (clamped to the model).
func (m *Model) UnfreezeRange(from, to int) { m.setRange(true, from, to) }

func (m *Model) setRange(t bool, from, to int) {
	for i := max(from, 0); i < min(to, len(m.layers)); i++ {
		m.layers[i].SetTrainable(t)
	}
}
