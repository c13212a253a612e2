package main

import (
	"context"
	"slices"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// TestRotate90 checks quarter turns against hand-rotated 3x3 images
// (counter-clockwise, like numpy.rot90) with two channels.
func TestRotate90(t *testing.T) {
	img := func(v ...float32) []float32 { // channel 1 is channel 0 negated
		out := make([]float32, 0, 2*len(v))
		for _, x := range v {
			out = append(out, x, -x)
		}
		return out
	}
	src := img(1, 2, 3, 4, 5, 6, 7, 8, 9)
	want := map[int][]float32{
		0: src,
		1: img(3, 6, 9, 2, 5, 8, 1, 4, 7),
		2: img(9, 8, 7, 6, 5, 4, 3, 2, 1),
		3: img(7, 4, 1, 8, 5, 2, 9, 6, 3),
		5: img(3, 6, 9, 2, 5, 8, 1, 4, 7),
	}
	for q, w := range want {
		got := slices.Clone(src)
		rotate90(got, nil, 3, 2, q)
		if !slices.Equal(got, w) {
			t.Errorf("%d quarter turns: got %v, want %v", q, got, w)
		}
	}
}

// TestMemSourceRotations checks the digit × orientation relabelling: each
// label is digit·4 + r with the image turned r quarters, the draw is stable
// for a given (seed, epoch) and changes across epochs.
func TestMemSourceRotations(t *testing.T) {
	const n, side = 40, 4
	x := tensor.New(n, side, side, 1)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 5
		for p := 0; p < side*side; p++ {
			x.Data[i*side*side+p] = float32(i*100 + p)
		}
	}
	src := &memSource{x: x, labels: labels, batch: 7, shuffle: true, seed: 3, rotations: 4}
	collect := func(epoch int) (rots []int) {
		err := src.Epoch(context.Background(), epoch, 0, func(_ int, xb *tensor.Tensor, lb []int) error {
			for i, l := range lb {
				img := xb.Data[i*side*side : (i+1)*side*side]
				s := int(img[0]) / 100 // every pixel of sample s is s*100 + p
				for p := range img {
					s = min(s, int(img[p])/100)
				}
				r := l % 4
				if l/4 != labels[s] {
					t.Fatalf("epoch %d: sample %d label %d, want digit %d", epoch, s, l, labels[s])
				}
				want := slices.Clone(x.Data[s*side*side : (s+1)*side*side])
				rotate90(want, nil, side, 1, r)
				if !slices.Equal(img, want) {
					t.Fatalf("epoch %d: sample %d not turned %d quarters", epoch, s, r)
				}
				rots = append(rots, r)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rots
	}
	a, b, c := collect(0), collect(0), collect(1)
	if !slices.Equal(a, b) {
		t.Error("rotations differ between two passes over the same epoch")
	}
	if slices.Equal(a, c) {
		t.Error("epochs 0 and 1 drew the same rotations")
	}
	seen := map[int]bool{}
	for _, r := range a {
		seen[r] = true
	}
	if len(seen) != 4 {
		t.Errorf("only rotations %v drawn over %d samples", seen, n)
	}
}
