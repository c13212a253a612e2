package train

import (
	"context"
	"errors"
	"io"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/tensor"
)

// Source delivers an epoch's batches in an order that depends only on
// (seed, epoch): resuming at step s of epoch e sees exactly the batches an
// uninterrupted run would have seen from step s on.
type Source interface {
	// Len returns the number of samples.
	Len() int
	// Steps returns the number of batches per epoch.
	Steps() int
	// Epoch calls fn for batches start, start+1, … of epoch, in order. x is
	// (n, ...) and labels holds its n class indices. fn's error stops the
	// epoch and is returned; so is ctx's error when it is cancelled.
	Epoch(ctx context.Context, epoch, start int, fn func(step int, x *tensor.Tensor, labels []int) error) error
}

// LabeledSource is a Source that can list every sample's class without
// loading it (BalancedClassWeights uses it).
type LabeledSource interface {
	Source
	// Labels returns the class index of every sample, in index order.
	Labels() []int
}

// DirectorySource adapts a dataset.Directory (flow_from_directory) to a
// Source. Its batches are the directory's: shuffled, augmented and
// preprocessed as its Options say. A resumed epoch starts decoding at the
// start step (dataset.Directory.EpochFrom), and augmentation draws from
// (seed, epoch, sample), so the batches equal an uninterrupted run's.
func DirectorySource(d *dataset.Directory) LabeledSource { return dirSource{d} }

// dirSource is DirectorySource's Source: its methods delegate to the
// directory (Len, Steps, Labels) or iterate its batches (Epoch).
type dirSource struct{ d *dataset.Directory }

func (s dirSource) Len() int      { return s.d.Len() }
func (s dirSource) Steps() int    { return s.d.Steps() }
func (s dirSource) Labels() []int { return s.d.Labels() }

// Epoch resumes the directory's epoch at start and calls fn per batch.
func (s dirSource) Epoch(ctx context.Context, epoch, start int, fn func(int, *tensor.Tensor, []int) error) error {
	it := s.d.EpochFrom(ctx, epoch, start)
	defer it.Close()
	for step := start; ; step++ {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(b.Labels) == 0 { // every image of the batch failed to decode
			continue
		}
		if err := fn(step, b.X, b.Labels); err != nil {
			return err
		}
	}
}

// TensorSource is a Source over samples held in memory: X is (N, ...) and
// Labels its N class indices. With Shuffle, epoch e visits the samples in
// the permutation drawn from Mix(Seed, "shuf", e); Order, when set,
// replaces that permutation (for example to follow a dataset.Directory's
// epoch order when training on its cached features).
type TensorSource struct {
	X       *tensor.Tensor
	Y       []int
	Batch   int // samples per batch (the last batch may be smaller)
	Shuffle bool
	Seed    uint64
	// Order, when non-nil, returns the sample indices of an epoch.
	Order func(epoch int) []int
}

// NewTensorSource returns a TensorSource over x (N, ...) and labels.
func NewTensorSource(x *tensor.Tensor, labels []int, batch int, shuffle bool, seed uint64) *TensorSource {
	return &TensorSource{X: x, Y: labels, Batch: batch, Shuffle: shuffle, Seed: seed}
}

// Len returns N.
func (m *TensorSource) Len() int { return len(m.Y) }

// Labels returns the labels (not a copy).
func (m *TensorSource) Labels() []int { return m.Y }

// Steps returns ceil(N / Batch).
func (m *TensorSource) Steps() int { return (len(m.Y) + m.Batch - 1) / m.Batch }

// EpochOrder returns the sample order of an epoch.
func (m *TensorSource) EpochOrder(epoch int) []int {
	if m.Order != nil {
		return m.Order(epoch)
	}
	return ShuffledOrder(len(m.Y), m.Shuffle, m.Seed, epoch)
}

// ShuffledOrder returns 0…n−1, permuted with the stream
// Mix(seed, "shuf", epoch) when shuffle is set: TensorSource's order.
func ShuffledOrder(n int, shuffle bool, seed uint64, epoch int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if shuffle {
		rng := tensor.NewRNG(Mix(seed, 0x73687566 /* "shuf" */, uint64(epoch)))
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	return idx
}

// Epoch gathers each batch into a fresh tensor.
func (m *TensorSource) Epoch(ctx context.Context, epoch, start int, fn func(int, *tensor.Tensor, []int) error) error {
	idx := m.EpochOrder(epoch)
	per := m.X.Shape[1:].Size()
	for step := start; step < m.Steps(); step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		from, to := step*m.Batch, min((step+1)*m.Batch, len(idx))
		x := tensor.New(append([]int{to - from}, m.X.Shape[1:]...)...)
		labels := make([]int, to-from)
		for i, s := range idx[from:to] {
			copy(x.Data[i*per:(i+1)*per], m.X.Data[s*per:(s+1)*per])
			labels[i] = m.Y[s]
		}
		if err := fn(step, x, labels); err != nil {
			return err
		}
	}
	return nil
}

// Mix hashes a few integers into one seed (the SplitMix64 finaliser over a
// running combination), so derived random streams are independent and
// stable: Fit seeds dropout layer i at (epoch, step) with
// Mix(seed, "drop", epoch, step, i).
func Mix(vals ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vals {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		z := h
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		h = z ^ (z >> 31)
	}
	return h
}

// BalancedClassWeights returns Keras's class_weight for
// sklearn's compute_class_weight("balanced"): w_c = N / (K · n_c) for the
// K classes, where n_c counts label c among the N labels. A class with no
// sample gets weight 0 (it contributes no loss anyway).
func BalancedClassWeights(labels []int, k int) []float64 {
	count := make([]int, k)
	for _, y := range labels {
		if y >= 0 && y < k {
			count[y]++
		}
	}
	w := make([]float64, k)
	for c, n := range count {
		if n > 0 {
			w[c] = float64(len(labels)) / (float64(k) * float64(n))
		}
	}
	return w
}
