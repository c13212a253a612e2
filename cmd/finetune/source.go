package main

import (
	"context"
	"math"

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
	// shift > 0 augments each training image with a random translation of
	// up to ±shift pixels in x and y (zero fill), drawn from
	// mix(seed, epoch, sample): images (N, H, W, C) only.
	shift int
	// rotations 4 turns each image by a random number r of quarter turns
	// (square images only), 8 also mirrors it left-right when r ≥ 4 (the
	// eight symmetries of the square), drawn from mix(seed, epoch, sample)
	// like shift, and relabels it label·rotations + r: the digit ×
	// orientation pre-training task of the MNIST demo. 0 = off.
	rotations int
	// tilt > 0 also turns each image by a random angle in ±tilt degrees and
	// scales it by a random factor in 1 ± zoom about its centre (bilinear,
	// zero fill), drawn like shift: small handwriting-like distortions.
	tilt, zoom float64
	scratch    []float32 // one image, reused by rotate90 and affine
	// epochOrder, when set, gives the sample order of an epoch instead of
	// the seeded permutation (used to follow a dataset.Directory's order so
	// cached features are seen in the same order as images would be).
	epochOrder func(epoch int) []int
}

// Len returns N.
func (m *memSource) Len() int { return len(m.labels) }

// Steps returns ceil(N / batch).
func (m *memSource) Steps() int { return (len(m.labels) + m.batch - 1) / m.batch }

// order returns the sample order of an epoch.
func (m *memSource) order(epoch int) []int {
	if m.epochOrder != nil {
		return m.epochOrder(epoch)
	}
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
	if (m.rotations > 1 || m.tilt > 0 || m.zoom > 0) && len(m.scratch) < per {
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
			if m.tilt > 0 || m.zoom > 0 {
				rng := tensor.NewRNG(mix(m.seed, 0x74696c74 /* "tilt" */, uint64(epoch), uint64(s)))
				angle := (2*rng.Float64() - 1) * m.tilt * math.Pi / 180
				scale := 1 + (2*rng.Float64()-1)*m.zoom
				affine(dst, m.scratch, m.x.Shape[1], m.x.Shape[2], m.x.Shape[3], angle, scale)
			}
			if m.rotations > 1 {
				rng := tensor.NewRNG(mix(m.seed, 0x726f74 /* "rot" */, uint64(epoch), uint64(s)))
				r := rng.IntN(m.rotations)
				if r >= 4 {
					mirror(dst, m.x.Shape[1], m.x.Shape[3])
				}
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

// mirror flips the image img (h, w, c) left-right in place, for h == w == n.
func mirror(img []float32, n, c int) {
	for y := 0; y < n; y++ {
		row := img[y*n*c : (y+1)*n*c]
		for a, b := 0, n-1; a < b; a, b = a+1, b-1 {
			for k := 0; k < c; k++ {
				row[a*c+k], row[b*c+k] = row[b*c+k], row[a*c+k]
			}
		}
	}
}

// affine replaces img (h, w, c) by itself turned by angle radians
// (clockwise as displayed, rows going down) and scaled by scale about the image centre:
// out(y, x) = in(centre + R(−angle)·((y, x) − centre)/scale), sampled
// bilinearly with zeros outside; scratch as for rotate90.
func affine(img, scratch []float32, h, w, c int, angle, scale float64) {
	src := copyOf(img, scratch)
	cy, cx := float64(h-1)/2, float64(w-1)/2
	cos, sin := math.Cos(angle)/scale, math.Sin(angle)/scale
	at := func(y, x, k int) float32 {
		if y < 0 || y >= h || x < 0 || x >= w {
			return 0
		}
		return src[(y*w+x)*c+k]
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dy, dx := float64(y)-cy, float64(x)-cx
			sy, sx := cy+cos*dy-sin*dx, cx+sin*dy+cos*dx
			y0, x0 := int(math.Floor(sy)), int(math.Floor(sx))
			fy, fx := float32(sy-float64(y0)), float32(sx-float64(x0))
			for k := 0; k < c; k++ {
				top := at(y0, x0, k)*(1-fx) + at(y0, x0+1, k)*fx
				bot := at(y0+1, x0, k)*(1-fx) + at(y0+1, x0+1, k)*fx
				img[(y*w+x)*c+k] = top*(1-fy) + bot*fy
			}
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
