package nn

import (
	"math"
	"unsafe"

	"github.com/gotransfer/gotransfer/internal/winograd"
	"github.com/gotransfer/gotransfer/tensor"
)

// winogradConv runs the forward pass and dx as Winograd F(4x4,3x3) or
// F(2x2,3x3) convolutions (internal/winograd), bias and ReLU fused in the
// output transform; dKernel and dBias take the split GEMM backward. The
// geometry must be 3x3, stride 1, dilation 1 and one pixel of zero padding
// on every side ('same', or explicit pads 1).
type winogradConv struct {
	own *winoPlans // this layer's plans when it runs outside a Model
	gemmBackward
}

func (a *winogradConv) forward(c *Conv2D, g *convGeom, x, y []float32, _ bool) bool {
	a.transform(c, c.plan.wino).Forward(x, g.N, g.H, g.W, c.bias(), c.opt.ReLU, y)
	return false
}

func (a *winogradConv) backward(c *Conv2D, g *convGeom, dy []float32, wantW bool) *tensor.Tensor {
	dz := a.weightGrads(c, g, dy, wantW)
	if !c.inputGrad {
		return nil
	}
	// dx is the 'same' 3x3 convolution of dz with the flipped, transposed kernel.
	dx, _ := c.gradInput(c.xShape)
	a.transform(c, c.plan.wino).BackwardData(dz, g.N, g.H, g.W, dx.Data)
	return dx
}

// winoPlans holds Winograd plans, one per (cin, cout, variant). A Model
// shares one set among all its convolutions (they run one at a time), so
// the transformed kernels take memory per distinct layer shape, not per
// layer: 75 MB for VGG16 with F4 instead of 236 MB.
//
// When the transform is redone (SetKernel; about 2 ms per 512x512 layer):
//
//   - always for a trainable layer (its weights change every step) and when
//     another layer of the same shape used the plan since;
//   - for a frozen layer, only when it was trainable at the last transform,
//     or its kernel's fingerprint changed: the slice identity plus a hash of
//     4096 evenly spaced weights, which any weight load, optimizer step or
//     re-initialisation changes. An edit of a few single weights of a frozen
//     layer may go unseen: call KernelChanged after such an edit.
//
// So frozen layers with a shape of their own (VGG16: block1–block4_conv1)
// keep their transform across micro-batches and steps, while same-shape
// layers (block4_conv2 … block5_conv3) share one plan and re-transform.
type winoPlans struct {
	list []winoPlan
}

type winoPlan struct {
	cin, cout int
	v         winograd.Variant
	p         *winograd.Plan
	owner     *Conv2D // layer whose kernel the transform was made from
	frozen    bool    // owner was frozen then
	print     uint64  // owner's kernel fingerprint then
}

// KernelChanged makes the next Forward/Backward redo this layer's Winograd
// kernel transform. Needed only after editing a few weights of a frozen
// layer in place (see winoPlans); trainable layers re-transform anyway.
func (c *Conv2D) KernelChanged() {
	var shared, own *winoPlans
	if c.shared != nil {
		shared = &c.shared.wino
	}
	if a, ok := c.algs[algWinograd].(*winogradConv); ok {
		own = a.own
	}
	for _, ps := range []*winoPlans{shared, own} {
		if ps == nil {
			continue
		}
		for i := range ps.list {
			if ps.list[i].owner == c {
				ps.list[i].owner = nil
			}
		}
	}
}

// fingerprint hashes the slice identity and 4096 evenly spaced values of w (FNV-1a).
func fingerprint(w []float32) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) { h = (h ^ v) * 1099511628211 }
	mix(uint64(len(w)))
	if len(w) == 0 {
		return h
	}
	mix(uint64(uintptr(unsafe.Pointer(&w[0]))))
	step := max(1, len(w)/4096)
	for i := 0; i < len(w); i += step {
		mix(uint64(math.Float32bits(w[i])))
	}
	mix(uint64(math.Float32bits(w[len(w)-1])))
	return h
}

// transform returns the plan for layer c's shape and v, holding the transform
// of its current kernel: the Model's shared one, else the layer's own.
func (a *winogradConv) transform(c *Conv2D, v winograd.Variant) *winograd.Plan {
	var ps *winoPlans
	if c.shared != nil {
		ps = &c.shared.wino
	} else {
		if a.own == nil {
			a.own = &winoPlans{}
		}
		ps = a.own
	}
	w := c.Kernel.Value.Data
	var fp uint64
	if !c.trainable {
		fp = fingerprint(w)
	}
	for i := range ps.list {
		e := &ps.list[i]
		if e.cin == c.cin && e.cout == c.cout && e.v == v {
			if e.owner != c || c.trainable || !e.frozen || e.print != fp {
				e.p.SetKernel(w)
			}
			e.owner, e.frozen, e.print = c, !c.trainable, fp
			return e.p
		}
	}
	p := winograd.NewPlan(w, c.cin, c.cout, v)
	ps.list = append(ps.list, winoPlan{c.cin, c.cout, v, p, c, !c.trainable, fp})
	return p
}

// release drops the transformed kernels (the next use rebuilds them).
func (ps *winoPlans) release() {
	for i := range ps.list {
		ps.list[i].p.Release()
		ps.list[i].owner = nil
	}
}
