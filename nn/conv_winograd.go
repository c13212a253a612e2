package nn

import (
	"fmt"
	"math"
	"os"
	"sync"
	"unsafe"

	"github.com/gotransfer/gotransfer/internal/winograd"
)

// Convolution algorithms (ConvOptions.Algorithm and the GOTRANSFER_CONV
// environment variable).
//
//   - ConvDirect: the implicit GEMM over im2col patches (conv2d.go). It is
//     the reference path and handles every geometry.
//   - ConvWinograd: Winograd F(4x4,3x3) or F(2x2,3x3) (internal/winograd)
//     for the forward pass and dx, whenever the geometry allows it: 3x3
//     kernel, stride 1, dilation 1, one pixel of zero padding on every side
//     ('same', or explicit pads 1). dKernel and dBias stay on the GEMM path.
//     Other geometries fall back to direct.
//   - ConvAuto (or ""): Winograd when the geometry allows it, cin ≥
//     WinogradMinCin and winograd.Choose finds enough tiles for the batch
//     (F4, else F2); direct otherwise.
//
// GOTRANSFER_CONV=direct|winograd|auto, read once, overrides every layer's
// choice (for benchmarking both paths on the same model).
const (
	ConvAuto     = "auto"
	ConvDirect   = "direct"
	ConvWinograd = "winograd"
)

// WinogradMinCin is the fewest input channels for which ConvAuto takes the
// Winograd path: the RGB input layer (cin 3) stays direct, where the
// transforms' channel vectors would be mostly idle.
var WinogradMinCin = 16

// convOverride is GOTRANSFER_CONV; it panics on first use when invalid.
var convOverride = sync.OnceValue(func() string {
	v := os.Getenv("GOTRANSFER_CONV")
	switch v {
	case "", ConvAuto, ConvDirect, ConvWinograd:
		return v
	}
	panic(fmt.Sprintf("nn: environment variable GOTRANSFER_CONV=%q: want direct, winograd or auto", v))
})

func validAlgorithm(a string) bool {
	return a == "" || a == ConvAuto || a == ConvDirect || a == ConvWinograd
}

// winogradVariant reports whether this layer's convolution of a batch of n
// runs on Winograd, and with which tile.
func (c *Conv2D) winogradVariant(n int, gh, gw axisGeom) (winograd.Variant, bool) {
	if c.kh != 3 || c.kw != 3 || gh.stride != 1 || gw.stride != 1 || gh.dilation != 1 || gw.dilation != 1 ||
		gh.padBegin != 1 || gh.padEnd != 1 || gw.padBegin != 1 || gw.padEnd != 1 {
		return 0, false
	}
	alg := c.opt.Algorithm
	if o := convOverride(); o != "" {
		alg = o
	}
	// Decide on the whole batch, not the micro-batch, so that micro-batching
	// never changes the arithmetic (and the result stays bit-identical).
	v, ok := winograd.Choose(max(n, c.batchHint), gh.in, gw.in, c.cin, c.cout)
	switch alg {
	case ConvDirect:
		return 0, false
	case ConvWinograd:
		if !ok {
			v = winograd.F2
		}
		return v, true
	}
	return v, ok && c.cin >= WinogradMinCin
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
	for _, ps := range []*winoPlans{c.wino, c.ownWino} {
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

// plan returns the shared plan for this layer's shape and v, holding the
// transform of its current kernel.
func (c *Conv2D) plan(v winograd.Variant) *winograd.Plan {
	ps := c.wino
	if ps == nil {
		if c.ownWino == nil {
			c.ownWino = &winoPlans{}
		}
		ps = c.ownWino
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
