// Package nn holds gotransfer's layers, the sequential Model and the
// softmax cross-entropy loss. Images are NHWC (batch, height, width,
// channels); every shape passed to or returned by a layer includes the batch
// axis. Each layer keeps Forward and Backward side by side in one file.
//
// Convolution. Read conv_reference.go first: the textbook im2col
// convolution on Gonum's BLAS interface, forward and backward. Conv2D
// (conv2d.go) runs whichever algorithm the decision table in
// conv_algorithms.go picks for a call (implicit GEMM, pointwise, thin,
// Toeplitz dKernel, Winograd, or the reference); each algorithm is a type
// in its own file that owns its scratch. GOTRANSFER_CONV forces one by name.
//
// Backward state. A layer keeps what its Backward needs (its input, its
// output, a mask or an argmax) only when Forward runs with training=true AND
// its backward plan says so (SetBackwardPlan). The Model sets the plan for
// every layer on each training Forward: layers below the lowest trainable
// layer keep nothing, and the lowest trainable layer computes no input
// gradient. RetainedBytes reports what a layer currently holds, so tests can
// check that frozen stacks really keep no activations.
package nn

import (
	"fmt"

	"github.com/gotransfer/gotransfer/tensor"
)

// Param is one named weight tensor with its gradient. Name is
// "<layer>/<weight>", e.g. "block1_conv1/kernel". Grad has Value's shape; it
// is nil until the first Backward of a trainable layer and is overwritten
// (not accumulated) by every Backward.
type Param struct {
	Name        string
	Value, Grad *tensor.Tensor
}

// Layer is every layer. Images are NHWC; shapes include the batch axis.
type Layer interface {
	Name() string // Keras layer name, e.g. "block1_conv1"
	Type() string // Keras class name for Summary, e.g. "Conv2D"
	Trainable() bool
	SetTrainable(bool)
	Params() []*Param                                  // in Keras weight order (kernel then bias); nil if none
	OutputShape(in tensor.Shape) (tensor.Shape, error) // in includes batch axis
	Forward(x *tensor.Tensor, training bool) *tensor.Tensor
	Backward(dy *tensor.Tensor) *tensor.Tensor // returns dx (nil when not needed); overwrites param grads
}

// BackwardPlanner is implemented by every layer of this package. The Model
// calls SetBackwardPlan before each training Forward.
//
//   - keep: Forward(training=true) stores what Backward needs. With keep
//     false the layer stores nothing and Backward must not be called.
//   - inputGrad: Backward computes and returns dx. With inputGrad false it
//     returns nil (the lowest trainable layer of a model).
//
// RetainedBytes is the number of bytes of backward state the layer holds
// right now (activations, masks, argmax indices; not weights, gradients or
// reusable scratch).
type BackwardPlanner interface {
	SetBackwardPlan(keep, inputGrad bool)
	RetainedBytes() int64
}

// base holds what every layer shares: name, trainable flag, backward plan
// and the buffers a Model lends it.
type base struct {
	name      string
	trainable bool
	keep      bool // store backward state on training Forward
	inputGrad bool // Backward computes dx

	// Storage, set only by a Model (standalone layers allocate every call).
	// dst is where the next Forward writes its output when it has exactly the
	// output's size (the Model's activation pool, a micro-batch view of a
	// segment output, or a per-layer buffer kept across steps); Forward
	// consumes it. reuse lets Backward and Forward keep their dx, mask and
	// argmax buffers across calls instead of allocating new ones: inside a
	// Model a dx is consumed by the layer below before the next Backward.
	dst   *tensor.Tensor
	reuse bool
	dx    *tensor.Tensor // reused dx (reuse only)

	// ownOut (set by ReuseBuffers) makes Forward write into outBuf, kept
	// across calls, whenever no dst is lent.
	ownOut bool
	outBuf *tensor.Tensor

	// shared is the state of the Model running this layer (nil standalone).
	shared *modelShared
}

// modelShared is what a Model shares with all its layers while it runs them.
type modelShared struct {
	batch int       // images in the whole batch, while layers run micro-batches of it
	wino  winoPlans // Winograd plans, shared by the convolutions (conv_winograd.go)
}

func newBase(name string) base { return base{name: name, trainable: true, keep: true, inputGrad: true} }

// Name returns the layer's name.
func (b *base) Name() string { return b.name }

// Trainable reports whether the layer's weights are updated in training.
func (b *base) Trainable() bool { return b.trainable }

// SetTrainable freezes (false) or unfreezes (true) the layer's weights.
func (b *base) SetTrainable(t bool) { b.trainable = t }

// SetBackwardPlan sets what the next training Forward keeps and whether
// Backward computes dx; see BackwardPlanner.
func (b *base) SetBackwardPlan(keep, inputGrad bool) { b.keep, b.inputGrad = keep, inputGrad }

// ReuseBuffers makes a standalone layer run the way a Model runs it: every
// Forward writes its output into one tensor kept by the layer (reallocated
// only when the output size changes) and every Backward its dx likewise,
// along with its masks and indices, instead of allocating them on each call.
// The tensors returned by the previous call are overwritten by the next one,
// so the caller must be done with them first (as a Model is: each output is
// consumed by the layer above, each dx by the layer below). Use it for
// hand-written training loops and benchmarks; layers inside a Model need not
// call it.
func (b *base) ReuseBuffers() { b.reuse, b.ownOut = true, true }

// retain reports whether this Forward call must store backward state.
func (b *base) retain(training bool) bool { return training && b.keep }

// output returns the tensor Forward writes its (N, d1, ...) result into:
// the Model-provided dst when its size matches (its shape is set to dims),
// else a new tensor. zeroed reports whether the content is known to be zero;
// layers that accumulate must clear it otherwise.
func (b *base) output(dims ...int) (y *tensor.Tensor, zeroed bool) {
	d := b.dst
	b.dst = nil
	if d != nil && len(d.Data) == sizeOf(dims) && len(d.Shape) == len(dims) {
		copy(d.Shape, dims)
		return d, false
	}
	if b.ownOut {
		if b.outBuf == nil || len(b.outBuf.Data) != sizeOf(dims) || len(b.outBuf.Shape) != len(dims) {
			b.outBuf = tensor.New(append([]int(nil), dims...)...)
			return b.outBuf, true
		}
		copy(b.outBuf.Shape, dims)
		return b.outBuf, false
	}
	// A copy, so that dims (the caller's variadic array) never escapes and the
	// dst path allocates nothing.
	return tensor.New(append([]int(nil), dims...)...), true
}

// gradInput returns the dx tensor of shape s for Backward: a buffer reused
// across calls inside a Model, else a new tensor. zeroed as for output.
func (b *base) gradInput(s tensor.Shape) (dx *tensor.Tensor, zeroed bool) {
	if !b.reuse {
		return tensor.New(s.Clone()...), true
	}
	if b.dx == nil || len(b.dx.Shape) != len(s) || len(b.dx.Data) != s.Size() {
		b.dx = tensor.New(s.Clone()...)
		return b.dx, true
	}
	copy(b.dx.Shape, s)
	return b.dx, false
}

// sizeOf is the product of dims.
func sizeOf(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// baseOf returns the shared state of a layer of this package whose dynamic
// type is exactly one of ours (not a type embedding one), or nil. The Model
// lends buffers and micro-batches only such layers: every one of them
// computes each sample independently of the others and keeps nothing when
// its backward plan says so.
func baseOf(l Layer) *base {
	switch t := l.(type) {
	case *Conv2D:
		return &t.base
	case *Dense:
		return &t.base
	case *Pool2D:
		return &t.base
	case *GlobalPool2D:
		return &t.base
	case *ReLU:
		return &t.base
	case *Softmax:
		return &t.base
	case *Dropout:
		return &t.base
	case *Flatten:
		return &t.base
	}
	return nil
}

func bytesOf(t *tensor.Tensor) int64 {
	if t == nil {
		return 0
	}
	return 4 * int64(len(t.Data))
}

// mustRank panics with a message naming the layer when x is not rank r.
func mustRank(layer string, x *tensor.Tensor, r int) {
	if len(x.Shape) != r {
		panic(fmt.Sprintf("nn: layer %q wants a rank-%d input, got %v", layer, r, x.Shape))
	}
}

// ensure returns buf resized to n elements, reusing its storage when it is big enough.
func ensure(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// gradFor returns p.Grad, allocating it with p.Value's shape on first use.
func gradFor(p *Param) *tensor.Tensor {
	if p.Grad == nil || !p.Grad.Shape.Equal(p.Value.Shape) {
		p.Grad = tensor.New(p.Value.Shape...)
	}
	return p.Grad
}

// InitParams initialises l's weights like Keras's defaults: Glorot-uniform
// kernels and zero biases. Layers without weights are left alone.
func InitParams(l Layer, rng *tensor.RNG) {
	for _, p := range l.Params() {
		if len(p.Value.Shape) >= 2 {
			tensor.GlorotUniform(p.Value, rng)
		} else {
			p.Value.Zero()
		}
	}
}
