package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// This file checks every layer against an independent float64 reference
// (plain loops written here, sharing no code with the layers):
//
//  1. forward: the layer's float32 output vs the float64 reference output;
//  2. backward: the layer's dx and weight gradients for the objective
//     f = Σ r ⊙ y (so dy = r) vs central finite differences of the float64
//     reference, (f(θ+h) − f(θ−h)) / 2h with h = 1e-6.

// refFn is a float64 reference forward: input x and params (in Params() order) to output.
type refFn func(x []float64, params [][]float64) []float64

func to64(a []float32) []float64 {
	b := make([]float64, len(a))
	for i, v := range a {
		b[i] = float64(v)
	}
	return b
}

func randTensor(rng *tensor.RNG, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	tensor.Normal(t, 0, 1, rng)
	return t
}

// gradCheck runs the three checks on layer l for an input of shape in.
func gradCheck(t *testing.T, l Layer, in tensor.Shape, ref refFn, seed uint64) {
	t.Helper()
	rng := tensor.NewRNG(seed)
	x := randTensor(rng, in...)
	for _, p := range l.Params() {
		tensor.Normal(p.Value, 0, 0.5, rng)
	}
	params64 := func() [][]float64 {
		var ps [][]float64
		for _, p := range l.Params() {
			ps = append(ps, to64(p.Value.Data))
		}
		return ps
	}
	if bp, ok := l.(BackwardPlanner); ok {
		bp.SetBackwardPlan(true, true)
	}
	y := l.Forward(x, true)
	x64 := to64(x.Data)
	want := ref(x64, params64())
	wantShape, err := l.OutputShape(in)
	if err != nil {
		t.Fatalf("%s: OutputShape: %v", l.Name(), err)
	}
	if !y.Shape.Equal(wantShape) || len(want) != len(y.Data) {
		t.Fatalf("%s: output %v (%d values), OutputShape %v, reference has %d values", l.Name(), y.Shape, len(y.Data), wantShape, len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(float64(y.Data[i]) - want[i]); d > 1e-5*scale+1e-4*math.Abs(want[i])+1e-6 {
			t.Fatalf("%s: forward element %d: got %g, want %g", l.Name(), i, y.Data[i], want[i])
		}
	}
	r := randTensor(rng, y.Shape...)
	r64 := to64(r.Data)
	dx := l.Backward(r.Clone())
	objective := func(x []float64, ps [][]float64) float64 {
		out := ref(x, ps)
		s := 0.0
		for i, v := range out {
			s += v * r64[i]
		}
		return s
	}
	const h = 1e-6
	check := func(what string, analytic []float32, vals []float64, eval func() float64) {
		t.Helper()
		n := len(vals)
		idx := make([]int, 0, 80)
		if n <= 80 {
			for i := 0; i < n; i++ {
				idx = append(idx, i)
			}
		} else {
			for i := 0; i < 80; i++ {
				idx = append(idx, rng.IntN(n))
			}
		}
		num := make([]float64, len(idx))
		big := 0.0
		for k, i := range idx {
			old := vals[i]
			vals[i] = old + h
			fp := eval()
			vals[i] = old - h
			fm := eval()
			vals[i] = old
			num[k] = (fp - fm) / (2 * h)
			big = math.Max(big, math.Abs(num[k]))
		}
		for k, i := range idx {
			a := float64(analytic[i])
			if d := math.Abs(a - num[k]); d > 2e-3*math.Abs(num[k])+1e-3*big+1e-5 {
				t.Fatalf("%s: d%s[%d]: analytic %g, finite difference %g", l.Name(), what, i, a, num[k])
			}
		}
	}
	if dx == nil {
		t.Fatalf("%s: Backward returned nil dx with inputGrad", l.Name())
	}
	if !dx.Shape.Equal(in) {
		t.Fatalf("%s: dx shape %v, want %v", l.Name(), dx.Shape, in)
	}
	ps := params64()
	check("x", dx.Data, x64, func() float64 { return objective(x64, ps) })
	for pi, p := range l.Params() {
		if p.Grad == nil {
			t.Fatalf("%s: no gradient for %s", l.Name(), p.Name)
		}
		check(p.Name, p.Grad.Data, ps[pi], func() float64 { return objective(x64, ps) })
	}
}

// refConv is a direct 2-D convolution, NHWC, kernel (kh,kw,cin,cout), explicit pads.
func refConv(N, H, W, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int, relu bool) refFn {
	OH := (H+pt+pb-((kh-1)*dh+1))/sh + 1
	OW := (W+pl+pr-((kw-1)*dw+1))/sw + 1
	return func(x []float64, ps [][]float64) []float64 {
		k := ps[0]
		y := make([]float64, N*OH*OW*cout)
		for n := 0; n < N; n++ {
			for oh := 0; oh < OH; oh++ {
				for ow := 0; ow < OW; ow++ {
					for m := 0; m < cout; m++ {
						s := 0.0
						if len(ps) > 1 {
							s = ps[1][m]
						}
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								ih, iw := oh*sh-pt+i*dh, ow*sw-pl+j*dw
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									continue
								}
								for c := 0; c < cin; c++ {
									s += x[((n*H+ih)*W+iw)*cin+c] * k[((i*kw+j)*cin+c)*cout+m]
								}
							}
						}
						if relu && s < 0 {
							s = 0
						}
						y[((n*OH+oh)*OW+ow)*cout+m] = s
					}
				}
			}
		}
		return y
	}
}

// samePads is Keras/TensorFlow 'same' padding for one axis: (begin, end).
func samePads(in, k, s, d int) (int, int) {
	out := (in + s - 1) / s
	total := (out-1)*s + (k-1)*d + 1 - in
	if total < 0 {
		total = 0
	}
	return total / 2, total - total/2
}

func TestConv2DGradients(t *testing.T) {
	cases := []struct {
		N, H, W, cin, cout, kh, kw, sh, sw, dh, dw int
		padding                                    string
		pads                                       [4]int
		noBias, relu                               bool
		alg                                        string
	}{
		{2, 5, 6, 3, 4, 3, 3, 1, 1, 1, 1, "valid", [4]int{}, false, false, ""},
		{2, 5, 6, 3, 4, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true, ""},
		{1, 7, 6, 2, 3, 3, 2, 2, 3, 1, 1, "same", [4]int{}, true, false, ""},
		{2, 8, 7, 3, 2, 3, 3, 2, 1, 2, 2, "explicit", [4]int{1, 0, 2, 3}, false, false, ""},
		{1, 9, 9, 4, 5, 3, 3, 1, 1, 2, 3, "same", [4]int{}, false, true, ""},
		{3, 4, 5, 6, 7, 1, 1, 1, 1, 1, 1, "valid", [4]int{}, false, true, ""},  // pointwise fast path
		{2, 6, 6, 3, 4, 1, 1, 2, 2, 1, 1, "valid", [4]int{}, false, false, ""}, // strided 1x1 uses patches
		{1, 5, 5, 2, 3, 4, 4, 3, 3, 1, 1, "explicit", [4]int{2, 2, 2, 2}, false, false, ""},
		{2, 5, 4, 2, 3, 2, 2, 1, 1, 1, 1, "explicit", [4]int{2, 0, 1, 2}, false, true, ""},  // stride 1, pad > span−1: col2im path
		{1, 6, 7, 3, 2, 3, 3, 1, 1, 1, 1, "explicit", [4]int{0, 2, 1, 0}, false, false, ""}, // stride 1 asymmetric: transposed GEMM
		// K = 9·cin larger than the GEMM's k-block, so rows are requested in pieces (p0 > 0, mid-channel).
		{1, 6, 6, 64, 8, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true, ""},
		{2, 7, 5, 37, 9, 3, 3, 1, 2, 2, 1, "same", [4]int{}, false, false, ""},
		{1, 9, 9, 150, 5, 3, 3, 1, 1, 1, 1, "valid", [4]int{}, false, false, ""},
		{1, 7, 8, 16, 4, 3, 2, 1, 1, 2, 1, "explicit", [4]int{1, 0, 2, 1}, false, true, ""}, // transposed GEMM, dilated, asymmetric
		// Many pixels per patch column (M ≥ 4·K): dKernel through the transposed GEMM over pixels (when forced).
		{2, 12, 11, 2, 3, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true, ConvDirect},
		{1, 13, 12, 2, 3, 3, 3, 2, 1, 2, 1, "same", [4]int{}, false, false, ConvDirect},
		// Output rows wider than a micro-panel: with forced paths, patch segments read in place (stride 1 and 2; dx too for cin ≥ 16).
		{1, 4, 30, 3, 5, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true, ConvDirect},
		{1, 5, 61, 2, 3, 3, 3, 1, 2, 1, 1, "same", [4]int{}, false, false, ConvDirect},
		{1, 3, 30, 16, 4, 3, 3, 1, 1, 1, 1, "same", [4]int{}, true, true, ConvDirect},
		// Winograd forward and dx (F2 and F4, edge tiles, channel tails), and the same shapes forced direct.
		{2, 5, 6, 3, 4, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true, ConvWinograd},
		{1, 9, 7, 20, 18, 3, 3, 1, 1, 1, 1, "explicit", [4]int{1, 1, 1, 1}, false, false, ConvWinograd},
		{4, 11, 10, 17, 33, 3, 3, 1, 1, 1, 1, "same", [4]int{}, true, true, ConvWinograd},
		{3, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true, ConvWinograd},
		{3, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true, ConvDirect},
		{1, 9, 7, 20, 18, 3, 3, 1, 1, 1, 1, "explicit", [4]int{1, 1, 1, 1}, false, false, ConvDirect},
		// Thin input without bias: the fused stacked backward with no dBias (default path).
		{2, 6, 7, 3, 4, 3, 3, 1, 1, 1, 1, "same", [4]int{}, true, true, ConvDirect},
	}
	// Every case runs with the default thresholds (for these small shapes:
	// the stacked thin-input path when K ≤ thinMaxK, else col2im for dx and
	// patches packed row by row), with the thin path off and the transposed
	// implicit GEMM for dx and in-place patch segments forced wherever they
	// apply, and (the first refCases, every kind of geometry; the rest costs
	// seconds of finite differences, and TestConvAlgorithmsAgree checks the
	// reference on all geometries) on the reference algorithm.
	const refCases = 10
	for run := range 2*len(cases) + refCases {
		ci, c := run%len(cases), cases[run%len(cases)]
		path := [...]string{"default", "forced", "reference"}[run/len(cases)]
		name := fmt.Sprintf("case%d_%s%s_%s", ci, c.padding, c.alg, path)
		t.Run(name, func(t *testing.T) {
			l := NewConv2D("conv", c.kh, c.kw, c.cin, c.cout, ConvOptions{StrideH: c.sh, StrideW: c.sw, Padding: c.padding,
				Pads: c.pads, DilationH: c.dh, DilationW: c.dw, NoBias: c.noBias, ReLU: c.relu, Algorithm: c.alg})
			switch path {
			case "forced":
				th := &l.tune
				th.transposedDxMinPatch, th.segmentsMinOW, th.segmentsMinWidth, th.transposedGradMinK, th.thinMaxK = 0, 0, 0, 0, 0
			case "reference":
				l.pinned = ConvReference
			}
			if o := convOverride(); c.alg == ConvWinograd && path != "reference" && (o == "" || o == ConvWinograd) {
				gh, gw, _ := l.geometry(tensor.Shape{c.N, c.H, c.W, c.cin})
				if p := l.choose(c.N, gh, gw); p.fwd != algWinograd {
					t.Fatalf("case %d should take the Winograd path, plan %+v", ci, p)
				}
			}
			pt, pl, pb, pr := c.pads[0], c.pads[1], c.pads[2], c.pads[3]
			if c.padding == "same" {
				pt, pb = samePads(c.H, c.kh, c.sh, c.dh)
				pl, pr = samePads(c.W, c.kw, c.sw, c.dw)
			}
			ref := refConv(c.N, c.H, c.W, c.cin, c.cout, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, pt, pl, pb, pr, c.relu)
			gradCheck(t, l, tensor.Shape{c.N, c.H, c.W, c.cin}, ref, uint64(ci+1))
		})
	}
}

// refPool is direct max/avg pooling with explicit pads and output size.
func refPool(isMax bool, N, H, W, C, OH, OW, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int, includePad bool) refFn {
	return func(x []float64, _ [][]float64) []float64 {
		y := make([]float64, N*OH*OW*C)
		for n := 0; n < N; n++ {
			for oh := 0; oh < OH; oh++ {
				for ow := 0; ow < OW; ow++ {
					for c := 0; c < C; c++ {
						best, sum, cnt, padCnt := math.Inf(-1), 0.0, 0, 0
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								ih, iw := oh*sh-pt+i*dh, ow*sw-pl+j*dw
								if ih >= -pt && ih < H+pb && iw >= -pl && iw < W+pr {
									padCnt++
								}
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									continue
								}
								v := x[((n*H+ih)*W+iw)*C+c]
								best = math.Max(best, v)
								sum += v
								cnt++
							}
						}
						out := best
						if !isMax {
							if includePad {
								cnt = padCnt
							}
							out = sum / float64(cnt)
						}
						y[((n*OH+oh)*OW+ow)*C+c] = out
					}
				}
			}
		}
		return y
	}
}

func TestPool2DGradients(t *testing.T) {
	cases := []struct {
		max                        bool
		N, H, W, C, kh, kw, sh, sw int
		dh, dw                     int
		padding                    string
		pads                       [4]int
		ceil, includePad           bool
		OH, OW                     int // expected output size (computed by hand)
	}{
		{true, 2, 6, 6, 3, 2, 2, 2, 2, 1, 1, "valid", [4]int{}, false, false, 3, 3},
		{false, 2, 6, 6, 3, 2, 2, 2, 2, 1, 1, "valid", [4]int{}, false, false, 3, 3},
		{true, 1, 7, 5, 2, 3, 3, 2, 2, 1, 1, "same", [4]int{}, false, false, 4, 3},
		{false, 1, 7, 5, 2, 3, 3, 2, 2, 1, 1, "same", [4]int{}, false, false, 4, 3},
		{false, 2, 5, 5, 2, 3, 3, 2, 2, 1, 1, "explicit", [4]int{1, 1, 1, 1}, false, true, 3, 3},
		{true, 1, 8, 9, 2, 2, 3, 3, 2, 2, 1, "explicit", [4]int{1, 0, 0, 1}, true, false, 3, 5},
		{false, 1, 6, 6, 2, 3, 3, 2, 2, 1, 1, "valid", [4]int{}, true, false, 3, 3},
		{false, 1, 6, 6, 2, 3, 3, 2, 2, 1, 1, "explicit", [4]int{1, 1, 1, 1}, true, true, 4, 4},
	}
	for ci, c := range cases {
		t.Run(fmt.Sprintf("case%d", ci), func(t *testing.T) {
			l := NewPool2D("pool", c.max, PoolOptions{KH: c.kh, KW: c.kw, StrideH: c.sh, StrideW: c.sw, Padding: c.padding,
				Pads: c.pads, DilationH: c.dh, DilationW: c.dw, CeilMode: c.ceil, CountIncludePad: c.includePad})
			pt, pl, pb, pr := c.pads[0], c.pads[1], c.pads[2], c.pads[3]
			if c.padding == "same" {
				pt, pb = samePads(c.H, c.kh, c.sh, c.dh)
				pl, pr = samePads(c.W, c.kw, c.sw, c.dw)
			}
			ref := refPool(c.max, c.N, c.H, c.W, c.C, c.OH, c.OW, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, pt, pl, pb, pr, c.includePad)
			gradCheck(t, l, tensor.Shape{c.N, c.H, c.W, c.C}, ref, uint64(ci+10))
		})
	}
}

func TestGlobalPoolGradients(t *testing.T) {
	N, H, W, C := 2, 3, 4, 5
	for _, isMax := range []bool{false, true} {
		l := NewGlobalAvgPool2D("gap")
		if isMax {
			l = NewGlobalMaxPool2D("gmp")
		}
		ref := func(x []float64, _ [][]float64) []float64 {
			y := make([]float64, N*C)
			for n := 0; n < N; n++ {
				for c := 0; c < C; c++ {
					best, sum := math.Inf(-1), 0.0
					for p := 0; p < H*W; p++ {
						v := x[(n*H*W+p)*C+c]
						best, sum = math.Max(best, v), sum+v
					}
					if isMax {
						y[n*C+c] = best
					} else {
						y[n*C+c] = sum / float64(H*W)
					}
				}
			}
			return y
		}
		gradCheck(t, l, tensor.Shape{N, H, W, C}, ref, 21)
	}
}

func TestDenseGradients(t *testing.T) {
	for _, relu := range []bool{false, true} {
		N, in, out := 4, 7, 5
		ref := func(x []float64, ps [][]float64) []float64 {
			y := make([]float64, N*out)
			for n := 0; n < N; n++ {
				for j := 0; j < out; j++ {
					s := ps[1][j]
					for i := 0; i < in; i++ {
						s += x[n*in+i] * ps[0][i*out+j]
					}
					if relu && s < 0 {
						s = 0
					}
					y[n*out+j] = s
				}
			}
			return y
		}
		gradCheck(t, NewDense("dense", in, out, relu), tensor.Shape{N, in}, ref, 31)
	}
}

func TestActivationGradients(t *testing.T) {
	identity := func(x []float64, _ [][]float64) []float64 { return append([]float64(nil), x...) }
	gradCheck(t, NewFlatten("flatten"), tensor.Shape{2, 3, 4, 5}, identity, 41)
	gradCheck(t, NewReLU("relu"), tensor.Shape{3, 7}, func(x []float64, _ [][]float64) []float64 {
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = math.Max(v, 0)
		}
		return y
	}, 42)
	K := 6
	gradCheck(t, NewSoftmax("softmax"), tensor.Shape{2, 3, K}, func(x []float64, _ [][]float64) []float64 {
		y := make([]float64, len(x))
		for r := 0; r < len(x); r += K {
			s := 0.0
			for k := 0; k < K; k++ {
				s += math.Exp(x[r+k])
			}
			for k := 0; k < K; k++ {
				y[r+k] = math.Exp(x[r+k]) / s
			}
		}
		return y
	}, 43)
}

// TestConv2DBiasGradLarge checks dBias = Σ_r dy[r, m]·[y[r, m] > 0] against a
// float64 sum on a layer large enough (M·cout ≥ 2^16) for the mask and the
// bias sum to be split across cores.
func TestConv2DBiasGradLarge(t *testing.T) {
	rng := tensor.NewRNG(7)
	l := NewConv2D("conv", 3, 3, 2, 16, ConvOptions{Padding: "same", ReLU: true})
	InitParams(l, rng)
	tensor.Uniform(l.Bias.Value, -0.5, 0.5, rng)
	x := tensor.New(1, 64, 65, 2)
	tensor.Uniform(x, -1, 1, rng)
	y := l.Forward(x, true)
	dy := tensor.New(y.Shape...)
	tensor.Normal(dy, 0, 1, rng)
	l.Backward(dy)
	want := make([]float64, 16)
	for r := 0; r < len(dy.Data)/16; r++ {
		for m := range 16 {
			if y.Data[r*16+m] > 0 {
				want[m] += float64(dy.Data[r*16+m])
			}
		}
	}
	for m, g := range l.Bias.Grad.Data {
		if math.Abs(float64(g)-want[m]) > 1e-3*(1+math.Abs(want[m])) {
			t.Fatalf("dBias[%d] = %g, want %g", m, g, want[m])
		}
	}
}
