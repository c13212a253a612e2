package main

import (
	"context"

	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/train"
)

// memSource is the demo's train.Source over MNIST images held in memory:
// x is (N, H, W, C) and labels its N classes, with the demo's
// augmentations. With shuffle, epoch e uses train.ShuffledOrder's
// permutation (the same as train.TensorSource's).
type memSource struct {
	x       *tensor.Tensor
	labels  []int
	batch   int
	shuffle bool
	seed    uint64
	// shift > 0 augments each training image with a random translation of
	// up to ±shift pixels in x and y (zero fill), drawn from
	// mix(seed, epoch, sample): images (N, H, W, C) only.
	shift int
	// rotations 4 turns each image by a random number r of quarter turns
	// (square images only), drawn from mix(seed, epoch, sample) like shift,
	// and relabels it label·4 + r: the digit × orientation pre-training
	// task of the MNIST demo. 0 = off.
	rotations int
	scratch   []float32 // one image, reused by rotate90
}

// Len returns N.
func (m *memSource) Len() int { return len(m.labels) }

// Steps returns ceil(N / batch).
func (m *memSource) Steps() int { return (len(m.labels) + m.batch - 1) / m.batch }

// Epoch gathers each batch into a fresh tensor.
func (m *memSource) Epoch(ctx context.Context, epoch, start int, fn func(int, *tensor.Tensor, []int) error) error {
	idx := train.ShuffledOrder(len(m.labels), m.shuffle, m.seed, epoch)
	per := m.x.Shape[1:].Size()
	if m.rotations > 1 && len(m.scratch) < per {
		m.scratch = make([]float32, per)
	}
	for step := start; step < m.Steps(); step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		from, to := step*m.batch, min((step+1)*m.batch, len(idx))
		shape := append([]int{to - from}, m.x.Shape[1:]...)
		x := tensor.New(shape...)
		labels := make([]int, to-from)
		for i, s := range idx[from:to] {
			dst, src := x.Data[i*per:(i+1)*per], m.x.Data[s*per:(s+1)*per]
			if m.shift > 0 {
				rng := tensor.NewRNG(mix(m.seed, 0x7368696674 /* "shift" */, uint64(epoch), uint64(s)))
				dx, dy := rng.IntN(2*m.shift+1)-m.shift, rng.IntN(2*m.shift+1)-m.shift
				translate(dst, src, m.x.Shape[1], m.x.Shape[2], m.x.Shape[3], dx, dy)
			} else {
				copy(dst, src)
			}
			labels[i] = m.labels[s]
			if m.rotations > 1 {
				rng := tensor.NewRNG(mix(m.seed, 0x726f74 /* "rot" */, uint64(epoch), uint64(s)))
				r := rng.IntN(m.rotations)
				rotate90(dst, m.scratch, m.x.Shape[1], m.x.Shape[3], r%4)
				labels[i] = m.labels[s]*m.rotations + r
			}
		}
		if err := fn(step, x, labels); err != nil {
			return err
		}
	}
	return nil
}

// mix is train.Mix: the seed derivation shared with train.Fit.
func mix(vals ...uint64) uint64 { return train.Mix(vals...) }

// translate writes src (h, w, c) moved by (dx, dy) pixels into dst:
// dst[y][x] = src[y-dy][x-dx], zero where that falls outside.
func translate(dst, src []float32, h, w, c, dx, dy int) {
	clear(dst)
	for y := 0; y < h; y++ {
		sy := y - dy
		if sy < 0 || sy >= h {
			continue
		}
		x0, x1 := max(0, dx), min(w, w+dx) // dst columns whose source x-dx is inside
		if x0 >= x1 {
			continue
		}
		copy(dst[(y*w+x0)*c:(y*w+x1)*c], src[(sy*w+x0-dx)*c:(sy*w+x1-dx)*c])
	}
}

// rotate90 turns the square image img (n, n, c) in place by quarter turns
// (scratch, when len(scratch) ≥ len(img), holds the copy it reads from)
// counter-clockwise: one turn maps (y, x) to (n-1-x, y).
func rotate90(img, scratch []float32, n, c, quarters int) {
	quarters &= 3
	if quarters == 0 {
		return
	}
	src := copyOf(img, scratch)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			sy, sx := y, x
			for q := 0; q < quarters; q++ { // undo one turn per quarter: source of (y, x) is (x, n-1-y)
				sy, sx = sx, n-1-sy
			}
			copy(img[(y*n+x)*c:(y*n+x+1)*c], src[(sy*n+sx)*c:(sy*n+sx+1)*c])
		}
	}
}

// copyOf copies img into scratch when it is long enough (else into a new
// slice) and returns the copy.
func copyOf(img, scratch []float32) []float32 {
	if len(scratch) < len(img) {
		scratch = make([]float32, len(img))
	}
	scratch = scratch[:len(img)]
	copy(scratch, img)
	return scratch
}
