package main

import (
	"context"

	"github.com/gotransfer/gotransfer/tensor"
)

// batchSource delivers an epoch's batches in a fixed order that depends only
// on (seed, epoch): resuming at step s of epoch e sees exactly the batches an
// uninterrupted run would have seen.
type batchSource interface {
	Len() int   // samples
	Steps() int // batches per epoch
	// Epoch calls fn for batches start, start+1, … of epoch in order. x is
	// (n, ...) and labels its n class indices. fn's error stops the epoch
	// and is returned.
	Epoch(ctx context.Context, epoch, start int, fn func(step int, x *tensor.Tensor, labels []int) error) error
}

// memSource is a batchSource over tensors held in memory (cached features,
// MNIST): x is (N, ...) and labels its N classes. With shuffle, epoch e uses
// the permutation drawn from mix(seed, e).
type memSource struct {
	x       *tensor.Tensor
	labels  []int
	batch   int
	shuffle bool
	seed    uint64
}

// Len returns N.
func (m *memSource) Len() int { return len(m.labels) }

// Steps returns ceil(N / batch).
func (m *memSource) Steps() int { return (len(m.labels) + m.batch - 1) / m.batch }

// order returns the sample order of an epoch.
func (m *memSource) order(epoch int) []int {
	n := len(m.labels)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if m.shuffle {
		rng := tensor.NewRNG(mix(m.seed, 0x73687566 /* "shuf" */, uint64(epoch)))
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	return idx
}

// Epoch gathers each batch into a fresh tensor.
func (m *memSource) Epoch(ctx context.Context, epoch, start int, fn func(int, *tensor.Tensor, []int) error) error {
	idx := m.order(epoch)
	per := m.x.Shape[1:].Size()
	for step := start; step < m.Steps(); step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		from, to := step*m.batch, min((step+1)*m.batch, len(idx))
		shape := append([]int{to - from}, m.x.Shape[1:]...)
		x := tensor.New(shape...)
		labels := make([]int, to-from)
		for i, s := range idx[from:to] {
			copy(x.Data[i*per:(i+1)*per], m.x.Data[s*per:(s+1)*per])
			labels[i] = m.labels[s]
		}
		if err := fn(step, x, labels); err != nil {
			return err
		}
	}
	return nil
}

// mix hashes a few integers into one seed (SplitMix64 finaliser over a
// running combination), so derived streams are independent and stable.
func mix(vals ...uint64) uint64 {
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
