package nn

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gotransfer/gotransfer/internal/winograd"
	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// Convolution algorithm names, for ConvOptions.Algorithm and the
// GOTRANSFER_CONV environment variable (which, when set, overrides every
// layer's option). A name other than auto and direct forces that algorithm
// wherever the layer's geometry allows it; elsewhere the layer runs as with
// direct.
const (
	ConvAuto         = "auto"          // the decision table below ("" too)
	ConvDirect       = "direct"        // the decision table without Winograd
	ConvReference    = "reference"     // explicit im2col and Gonum BLAS (conv_reference.go): every geometry
	ConvImplicitGEMM = "implicit-gemm" // patches packed on demand (conv_implicit.go): every geometry
	ConvPointwise    = "pointwise"     // 1x1, stride 1, unpadded: a plain GEMM on x
	ConvThin         = "thin"          // stacked patch rows (conv_stacked.go): undilated columns
	ConvToeplitz     = "toeplitz"      // implicit-gemm with dKernel read in place (conv_toeplitz.go): stride 1, 'same', cin%16 == 0
	ConvWinograd     = "winograd"      // Winograd F(4x4,3x3) or F(2x2,3x3) (conv_winograd.go): 3x3, stride 1, pad 1
)

// convNames lists the valid names, in the order error messages give them.
var convNames = []string{ConvAuto, ConvDirect, ConvReference, ConvImplicitGEMM, ConvPointwise, ConvThin, ConvToeplitz, ConvWinograd}

func validAlgorithm(a string) bool {
	for _, n := range convNames {
		if a == n {
			return true
		}
	}
	return a == ""
}

// convOverride is GOTRANSFER_CONV; it panics on first use when invalid.
var convOverride = sync.OnceValue(func() string {
	v, err := parseConvEnv(os.Getenv("GOTRANSFER_CONV"))
	if err != nil {
		panic("nn: " + err.Error())
	}
	return v
})

// parseConvEnv checks a GOTRANSFER_CONV value ("" means unset).
func parseConvEnv(v string) (string, error) {
	if !validAlgorithm(v) {
		return "", fmt.Errorf("environment variable GOTRANSFER_CONV=%q is not a convolution algorithm: want one of %s",
			v, strings.Join(convNames, ", "))
	}
	return v, nil
}

// convThresholds holds every tuning number of the decision table and of the
// algorithms. defaultConvThresholds gives the measured values; a layer keeps
// its own copy (Conv2D.tune) so that tests can force each path.
type convThresholds struct {
	// winogradMinCin is the fewest input channels for which auto takes
	// Winograd: on RGB input the transforms' channel vectors sit mostly idle.
	winogradMinCin int
	// thinMaxK is the largest K = kh·kw·cin for which auto takes the thin
	// (stacked) algorithm; BenchmarkConv2D/block1_conv1 (K = 27).
	thinMaxK int
	// thinBandMACs bounds the multiply-adds of one band of the thin forward
	// (output rows stacked and multiplied while in L2); BenchmarkConv2D/block1_conv1/fwd.
	thinBandMACs int
	// kernelGradMinPixelsPerK: dKernel reads the patches in place (Toeplitz)
	// or sums per core over pixels (transposed) only with M ≥ this·K pixels;
	// with fewer, the per-core partial sums cost more than the tiles save.
	// BenchmarkConv2D/block1_conv2/bwd (M = 87·K) gains, block5_conv2/bwd (M = 0.04·K) loses.
	kernelGradMinPixelsPerK int
	// transposedGradMinK is the smallest K for which dKernel takes the
	// transposed per-core GEMM: thin patches would make every tile of
	// dKernelᵀ a partial edge tile (BenchmarkConv2D/block1_conv1/bwd).
	transposedGradMinK int
	// transposedDxMinCin is the fewest input channels for which dx takes the
	// transposed implicit GEMM, whose n = cin columns would leave a 32-wide
	// micro-tile mostly idle below it.
	transposedDxMinCin int
	// transposedDxMinPatch (M·K floats) and transposedDxMinPixelsPerK: dx
	// takes the transposed implicit GEMM for patch matrices larger than the
	// first or with M ≥ the second·K; smaller ones spend as much on
	// rebuilding the flipped kernel as on the GEMM and take col2im.
	// BenchmarkConv2D/block3_conv1/bwd gains, block4_conv2/bwd loses.
	transposedDxMinPatch      int
	transposedDxMinPixelsPerK int
	// segmentsMinOW and segmentsMinWidth: the implicit GEMMs read patches in
	// place as kernels.Segments for output rows at least segmentsMinOW wide
	// and kernel rows (kw·C floats) at least segmentsMinWidth long
	// (BenchmarkConv2D/block2_conv2/fwd gains, block4_conv2/fwd loses).
	segmentsMinOW, segmentsMinWidth int
	// parallelMinFloats and stackParallelMinFloats: the ReLU mask with
	// dBias, and the stacked copy of x, over fewer floats run on one core.
	parallelMinFloats, stackParallelMinFloats int
}

// defaultConvThresholds returns the measured thresholds.
func defaultConvThresholds() convThresholds {
	return convThresholds{
		winogradMinCin:            16,
		thinMaxK:                  64,
		thinBandMACs:              1 << 22,
		kernelGradMinPixelsPerK:   4,
		transposedGradMinK:        64,
		transposedDxMinCin:        16,
		transposedDxMinPatch:      4 << 20,
		transposedDxMinPixelsPerK: 2,
		segmentsMinOW:             96,
		segmentsMinWidth:          64,
		parallelMinFloats:         1 << 16,
		stackParallelMinFloats:    1 << 15,
	}
}

// convAlg identifies an algorithm object of a layer (Conv2D.algs).
type convAlg uint8

const (
	algReference convAlg = iota
	algPointwise
	algImplicit
	algThin
	algWinograd
	numConvAlgs
)

// kernelGradStep and inputGradStep are the dKernel and dx steps of the
// split backward (gemmBackward): mask and dBias, then dKernel, then dx.
type kernelGradStep uint8

const (
	dkTiles      kernelGradStep = iota // bounded tiles of packed patch rows
	dkToeplitz                         // patches read in place (conv_toeplitz.go)
	dkTransposed                       // dKernelᵀ = dzᵀ·A summed per core over pixels
)

type inputGradStep uint8

const (
	dxCol2im     inputGradStep = iota // dP = dz·kernelᵀ per tile, scattered by col2im
	dxTransposed                      // stride-1 implicit GEMM of dz with the flipped, transposed kernel
	dxThinGather                      // dP = dz·kernelᵀ, gathered by rows of dx (conv_stacked.go)
)

// convPlan is the decision table's answer for one call: the algorithm of
// the forward pass, that of the backward pass (the same one, but for thin
// inputs, whose fused backward serves every forward) and, for the split
// backward, its dKernel and dx steps.
type convPlan struct {
	fwd, bwd convAlg
	dk       kernelGradStep
	dx       inputGradStep
	wino     winograd.Variant
}

// convCase is what the decision depends on: the layer, the geometry of the
// call, the batch and the kernel level. (A precision field goes here.)
type convCase struct {
	kh, kw, cin, cout int
	gh, gw            axisGeom
	n                 int    // images in this call
	batch             int    // images in the whole batch (≥ n when a Model runs micro-batches)
	level             string // kernels.Level(); no row depends on it on today's levels
}

// Facts about a geometry that the table's rows test.

// winogradOK: 3x3, stride 1, undilated, one pixel of zero padding each side.
func (k *convCase) winogradOK() bool {
	return k.kh == 3 && k.kw == 3 && k.gh.stride == 1 && k.gw.stride == 1 && k.gh.dilation == 1 && k.gw.dilation == 1 &&
		k.gh.padBegin == 1 && k.gh.padEnd == 1 && k.gw.padBegin == 1 && k.gw.padEnd == 1
}

// pointwiseOK: 1x1, stride 1, unpadded, so the patch matrix A is x itself, (N·H·W, cin).
func (k *convCase) pointwiseOK() bool {
	return k.kh == 1 && k.kw == 1 && k.gh.stride == 1 && k.gw.stride == 1 &&
		k.gh.padBegin == 0 && k.gh.padEnd == 0 && k.gw.padBegin == 0 && k.gw.padEnd == 0
}

// toeplitzOK: stride 1, undilated, output as large as the input, and cin a
// multiple of 16 so that the view's rows start on cache lines.
func (k *convCase) toeplitzOK() bool {
	return k.gh.stride == 1 && k.gw.stride == 1 && k.gh.dilation == 1 && k.gw.dilation == 1 &&
		k.gh.out == k.gh.in && k.gw.out == k.gw.in && k.cin%16 == 0
}

// transposedOK: dx is a stride-1 convolution of dz with the flipped kernel
// (stride 1 and pads no larger than span−1 on both axes).
func (k *convCase) transposedOK() bool {
	ok := func(g axisGeom) bool { return g.stride == 1 && g.padBegin <= g.span()-1 && g.padEnd <= g.span()-1 }
	return ok(k.gh) && ok(k.gw)
}

// The decision table. Rows are tried top to bottom; M = n·OH·OW output
// pixels, K = kh·kw·cin; the thresholds are convThresholds fields.
//
//	forward        runs when (auto)                                       forced by
//	reference      never                                                  reference (every geometry)
//	winograd       winogradOK, cin ≥ winogradMinCin, winograd.Choose ok   winograd (F2 if Choose declines)
//	               (Choose counts tiles over the whole batch)
//	pointwise      pointwiseOK                                            pointwise
//	thin           undilated columns, K ≤ thinMaxK                        thin (undilated columns, any K)
//	implicit-gemm  every other geometry                                   implicit-gemm, toeplitz (every geometry)
//
//	backward       runs when
//	reference      the forward is reference
//	thin           undilated columns, K ≤ thinMaxK, stride 1 (fused, whatever the forward);
//	               the forward is thin (fused for stride 1, else stacked dKernel and col2im dx)
//	pointwise      the forward is pointwise: dKernel = xᵀ·dz, dx = dz·kernelᵀ
//	winograd       the forward is winograd: dKernel step below, dx by Winograd
//	implicit-gemm  the forward is implicit-gemm: dKernel and dx steps below
//
//	dKernel step   runs when
//	toeplitz       toeplitzOK, M ≥ kernelGradMinPixelsPerK·K, not forced implicit-gemm (forced toeplitz: toeplitzOK)
//	transposed     M ≥ kernelGradMinPixelsPerK·K, K ≥ transposedGradMinK
//	tiles          otherwise
//
//	dx step        runs when
//	transposed     transposedOK, cin ≥ transposedDxMinCin, M·K > transposedDxMinPatch or M ≥ transposedDxMinPixelsPerK·K
//	thin gather    stride 1, K ≤ thinMaxK, not forced implicit-gemm or toeplitz (columns dilated, else the backward is thin)
//	col2im         otherwise
//
// direct is auto without the winograd row; a forced name that the geometry
// does not allow runs as direct. No row depends on the kernel level today.
func chooseConv(k convCase, name string, th *convThresholds) convPlan {
	M, K := k.n*k.gh.out*k.gw.out, k.kh*k.kw*k.cin
	thinGeom := k.gw.dilation == 1
	stride1 := k.gh.stride == 1 && k.gw.stride == 1
	switch {
	case name == ConvReference:
		return convPlan{fwd: algReference, bwd: algReference}
	case name == ConvThin && thinGeom:
		return convPlan{fwd: algThin, bwd: algThin}
	}
	implicitOnly := name == ConvImplicitGEMM || name == ConvToeplitz
	thin := !implicitOnly && thinGeom && K <= th.thinMaxK
	p := convPlan{fwd: algImplicit}
	if k.winogradOK() && (name == ConvAuto || name == "" || name == ConvWinograd) {
		// On the whole batch, not the micro-batch: micro-batching never changes the arithmetic.
		v, ok := winograd.Choose(max(k.n, k.batch), k.gh.in, k.gw.in, k.cin, k.cout)
		if name == ConvWinograd {
			if !ok {
				v = winograd.F2
			}
			ok = true
		} else if k.cin < th.winogradMinCin {
			ok = false
		}
		if ok {
			p.fwd, p.wino = algWinograd, v
		}
	}
	switch {
	case p.fwd == algWinograd:
	case !implicitOnly && k.pointwiseOK():
		p.fwd = algPointwise
	case thin:
		p.fwd = algThin
	}
	p.bwd = p.fwd
	if thin && stride1 { // the fused thin backward, whatever the forward
		p.bwd = algThin
	}
	switch {
	case k.toeplitzOK() && (name == ConvToeplitz || M >= th.kernelGradMinPixelsPerK*K && name != ConvImplicitGEMM):
		p.dk = dkToeplitz
	case M >= th.kernelGradMinPixelsPerK*K && K >= th.transposedGradMinK:
		p.dk = dkTransposed
	}
	switch {
	case k.transposedOK() && k.cin >= th.transposedDxMinCin && (M*K > th.transposedDxMinPatch || M >= th.transposedDxMinPixelsPerK*K):
		p.dx = dxTransposed
	case stride1 && K <= th.thinMaxK && !implicitOnly:
		p.dx = dxThinGather
	}
	return p
}

// convAlgorithm is one algorithm of the table: forward computes y = conv(x)
// (+ bias, ReLU) and returns whether it recorded the ReLU mask c.mask;
// backward computes dKernel and dBias when wantW and returns dx when
// c.inputGrad (else nil). Each owns its scratch, made on first use; the
// layer's own state (weights, x, y, mask) is read through c.
type convAlgorithm interface {
	forward(c *Conv2D, g *convGeom, x, y []float32, keep bool) (masked bool)
	backward(c *Conv2D, g *convGeom, dy []float32, wantW bool) *tensor.Tensor
}

// convGeom is the geometry of one call.
type convGeom struct {
	N, H, W int
	gh, gw  axisGeom
	M, K    int // output pixels N·OH·OW; patch length kh·kw·cin
}

// algorithm returns the layer's object for a, made on first use.
func (c *Conv2D) algorithm(a convAlg) convAlgorithm {
	if c.algs[a] == nil {
		switch a {
		case algReference:
			c.algs[a] = &referenceConv{}
		case algPointwise:
			c.algs[a] = &pointwiseConv{}
		case algImplicit:
			c.algs[a] = &implicitConv{}
		case algThin:
			c.algs[a] = &thinConv{}
		case algWinograd:
			c.algs[a] = &winogradConv{}
		}
	}
	return c.algs[a]
}

// choose runs the decision table for a call on n images with geometry gh, gw.
func (c *Conv2D) choose(n int, gh, gw axisGeom) convPlan {
	name := c.opt.Algorithm
	if o := convOverride(); o != "" {
		name = o
	}
	if c.pinned != "" {
		name = c.pinned
	}
	batch := n
	if c.shared != nil {
		batch = c.shared.batch
	}
	k := convCase{kh: c.kh, kw: c.kw, cin: c.cin, cout: c.cout, gh: gh, gw: gw, n: n, batch: batch, level: kernels.Level()}
	return chooseConv(k, name, &c.tune)
}
