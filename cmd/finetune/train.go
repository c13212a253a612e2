package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/train"
)

// errInterrupted is returned when the context was cancelled (Ctrl-C) and a
// resumable checkpoint was written.
var errInterrupted = train.ErrInterrupted

// forwardRange runs layers [from, to) of m in inference mode.
func forwardRange(m *nn.Model, x *tensor.Tensor, from, to int) *tensor.Tensor {
	for _, l := range m.Layers()[from:to] {
		x = l.Forward(x, false)
	}
	return x
}

// featureShape is the per-sample output shape of layers [0, upto) of m.
func featureShape(m *nn.Model, upto int) tensor.Shape {
	s := append(tensor.Shape{1}, m.InputShape()...)
	for _, l := range m.Layers()[:upto] {
		s, _ = l.OutputShape(s)
	}
	return s[1:]
}

// extractFeatures runs the frozen layers [0, upto) over every batch of src
// (in its epoch-0 order, unshuffled sources only) and returns the stacked
// outputs with their labels: the "bottleneck features" of the Keras blog.
func extractFeatures(ctx context.Context, m *nn.Model, src train.Source, upto int, stdout, stderr io.Writer, what string) (*tensor.Tensor, []int, error) {
	var feats []float32
	var labels []int
	var shape tensor.Shape
	bar := train.NewProgress(stderr, stdout, src.Steps(), "Computing "+what+" features")
	err := src.Epoch(ctx, 0, 0, func(step int, x *tensor.Tensor, y []int) error {
		f := forwardRange(m, x, 0, upto)
		shape = f.Shape
		feats = append(feats, f.Data...)
		labels = append(labels, y...)
		bar.Update(step + 1)
		return nil
	})
	bar.Finish()
	if err != nil {
		return nil, nil, fmt.Errorf("computing %s features: %w", what, err)
	}
	if len(labels) == 0 {
		return nil, nil, fmt.Errorf("computing %s features: no images", what)
	}
	s := append(tensor.Shape{len(labels)}, shape[1:]...)
	return tensor.FromData(feats, s...), labels, nil
}

// extractFeaturesOrdered computes the features of every image of d (in
// d's epoch-0 batches), stacks them in dataset index order, leaving out
// images that failed to decode, and returns a source over them that visits
// them in d's epoch order: training on it sees the samples in the order
// training on the images would.
func extractFeaturesOrdered(ctx context.Context, m *nn.Model, d *dataset.Directory, upto, batch int, stdout, stderr io.Writer, what string) (*train.TensorSource, error) {
	n := d.Len()
	labels := make([]int, n)
	feats := make([][]float32, n)
	var shape tensor.Shape
	it := d.Epoch(ctx, 0)
	defer it.Close()
	bar := train.NewProgress(stderr, stdout, d.Steps(), "Computing "+what+" features")
	for step := 0; ; step++ {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("computing %s features: %w", what, err)
		}
		if len(b.Labels) == 0 {
			continue
		}
		f := forwardRange(m, b.X, 0, upto)
		shape = f.Shape
		per := f.Shape[1:].Size()
		for i, idx := range b.Indices {
			feats[idx] = f.Data[i*per : (i+1)*per]
			labels[idx] = b.Labels[i]
		}
		bar.Update(step + 1)
	}
	bar.Finish()
	var data []float32
	var keep []int
	rowOf := make([]int, n)
	for i, f := range feats {
		rowOf[i] = -1
		if f != nil {
			rowOf[i] = len(keep)
			data = append(data, f...)
			keep = append(keep, labels[i])
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("computing %s features: no usable images", what)
	}
	src := train.NewTensorSource(tensor.FromData(data, append(tensor.Shape{len(keep)}, shape[1:]...)...), keep, batch, false, 0)
	src.Order = func(epoch int) []int {
		var o []int
		for _, i := range d.EpochOrder(epoch) {
			if rowOf[i] >= 0 {
				o = append(o, rowOf[i])
			}
		}
		return o
	}
	return src, nil
}
