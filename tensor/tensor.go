// Package tensor holds gotransfer's float32 tensors: a Shape and one contiguous,
// row-major Data slice. Images are NHWC: (batch, height, width, channels), so a
// pixel's channels are adjacent in memory, which is what im2col-style
// convolution and Keras weight files want.
package tensor

import (
	"fmt"
	"strings"
)

// Shape lists the size of each axis, outermost first. A scalar has an empty Shape.
type Shape []int

// Size is the number of elements: the product of the axes (1 for a scalar).
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether s and o have the same rank and axes.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s that shares no memory with it.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// String formats s the way Keras prints shapes, e.g. "(16, 224, 224, 3)".
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	if len(s) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Tensor is a dense float32 array. Data holds Shape.Size() elements in
// row-major (C) order; for images the axes are N, H, W, C.
type Tensor struct {
	Shape Shape
	Data  []float32
}

// New returns a zero-filled tensor of the given shape. It panics on a negative axis.
func New(shape ...int) *Tensor {
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor.New: negative axis in %v", shape))
		}
	}
	s := Shape(shape).Clone()
	return &Tensor{Shape: s, Data: Floats(s.Size())}
}

// FromData wraps data (not copied) as a tensor of the given shape. It panics
// when len(data) does not equal the shape's size.
func FromData(data []float32, shape ...int) *Tensor {
	s := Shape(shape).Clone()
	if s.Size() != len(data) {
		panic(fmt.Sprintf("tensor.FromData: %d elements do not fit shape %v", len(data), s))
	}
	return &Tensor{Shape: s, Data: data}
}

// Size is the number of elements.
func (t *Tensor) Size() int { return len(t.Data) }

// Rank is the number of axes.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Dim returns axis i; negative i counts from the end (-1 is the last axis).
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Reshape returns a tensor sharing t's Data with a new shape. One axis may be
// -1, meaning "whatever is left". It panics when the sizes disagree.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	s := Shape(shape).Clone()
	infer := -1
	known := 1
	for i, d := range s {
		if d == -1 {
			if infer >= 0 {
				panic("tensor.Reshape: more than one -1 axis")
			}
			infer = i
			continue
		}
		known *= d
	}
	if infer >= 0 {
		if known == 0 || len(t.Data)%known != 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v to %v", t.Shape, shape))
		}
		s[infer] = len(t.Data) / known
	}
	if s.Size() != len(t.Data) {
		panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v (%d elements) to %v", t.Shape, len(t.Data), s))
	}
	return &Tensor{Shape: s, Data: t.Data}
}

// Batch returns a view (no copy) of samples [from, to) along axis 0.
func (t *Tensor) Batch(from, to int) *Tensor {
	if len(t.Shape) == 0 || from < 0 || to > t.Shape[0] || from > to {
		panic(fmt.Sprintf("tensor.Batch: range [%d,%d) outside %v", from, to, t.Shape))
	}
	per := 1
	for _, d := range t.Shape[1:] {
		per *= d
	}
	s := t.Shape.Clone()
	s[0] = to - from
	return &Tensor{Shape: s, Data: t.Data[from*per : to*per : to*per]}
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: t.Shape.Clone(), Data: append([]float32(nil), t.Data...)}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

// CopyFrom copies src's data into t. The sizes must match; shapes may differ.
func (t *Tensor) CopyFrom(src *Tensor) {
	if len(src.Data) != len(t.Data) {
		panic(fmt.Sprintf("tensor.CopyFrom: size %v into %v", src.Shape, t.Shape))
	}
	copy(t.Data, src.Data)
}

// String gives the shape only; tensors are too big to print.
func (t *Tensor) String() string { return "Tensor" + t.Shape.String() }
