package nn

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/internal/winograd"
	"github.com/gotransfer/gotransfer/tensor"
)

// refConvBackward is the float64 backward of refConv in plain loops: with
// dz = dy ⊙ [y > 0] (relu) it returns dKernel[i,j,c,m] = Σ x·dz, dBias[m] =
// Σ dz and dx[n,ih,iw,c] = Σ dz·kernel over the taps that read (ih, iw).
func refConvBackward(N, H, W, cin, cout, kh, kw, sh, sw, dh, dw, pt, pl, OH, OW int, relu bool,
	x, k, y, dy []float64) (dk, db, dx []float64) {
	dk, db, dx = make([]float64, kh*kw*cin*cout), make([]float64, cout), make([]float64, N*H*W*cin)
	for n := 0; n < N; n++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				for m := 0; m < cout; m++ {
					o := ((n*OH+oh)*OW+ow)*cout + m
					d := dy[o]
					if relu && !(y[o] > 0) {
						d = 0
					}
					db[m] += d
					for i := 0; i < kh; i++ {
						for j := 0; j < kw; j++ {
							ih, iw := oh*sh-pt+i*dh, ow*sw-pl+j*dw
							if ih < 0 || ih >= H || iw < 0 || iw >= W {
								continue
							}
							for c := 0; c < cin; c++ {
								xi, ki := ((n*H+ih)*W+iw)*cin+c, ((i*kw+j)*cin+c)*cout+m
								dk[ki] += x[xi] * d
								dx[xi] += k[ki] * d
							}
						}
					}
				}
			}
		}
	}
	return dk, db, dx
}

// TestConvAlgorithmsAgree runs every algorithm name, pinned (so whatever
// GOTRANSFER_CONV says), on geometries that each allow some of them and
// compares y, dKernel, dBias and dx with float64 loops: trainable with dx,
// frozen (dx only: a first-layer-above-frozen case) and trainable without
// dx (the lowest trainable layer). Names a geometry does not allow run as
// direct. It covers a frozen 1x1 layer and a forced-Winograd RGB layer,
// whose thin backward follows a forward that is not thin.
func TestConvAlgorithmsAgree(t *testing.T) {
	cases := []struct {
		N, H, W, cin, cout, kh, kw, sh, sw, dh, dw int
		padding                                    string
		pads                                       [4]int
		noBias, relu                               bool
	}{
		{2, 9, 10, 3, 16, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true},
		{1, 12, 11, 16, 8, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, true},
		{2, 7, 8, 5, 6, 1, 1, 1, 1, 1, 1, "valid", [4]int{}, false, true},
		{1, 9, 9, 4, 5, 3, 3, 2, 1, 1, 2, "same", [4]int{}, false, true},
		{2, 8, 7, 3, 2, 3, 3, 2, 1, 2, 1, "explicit", [4]int{1, 0, 2, 3}, true, false},
		{1, 6, 6, 70, 6, 1, 1, 1, 1, 1, 1, "valid", [4]int{}, false, false},
		{1, 10, 9, 32, 16, 3, 3, 1, 1, 1, 1, "same", [4]int{}, true, true},
		{2, 5, 6, 3, 4, 3, 3, 1, 1, 1, 1, "same", [4]int{}, false, false},
		{1, 7, 6, 2, 3, 3, 2, 2, 3, 1, 1, "same", [4]int{}, false, true},
	}
	for ci, c := range cases {
		rng := tensor.NewRNG(uint64(100 + ci))
		x := randTensor(rng, c.N, c.H, c.W, c.cin)
		kernel := tensor.New(c.kh, c.kw, c.cin, c.cout)
		tensor.Normal(kernel, 0, 0.5, rng)
		bias := tensor.New(c.cout)
		tensor.Normal(bias, 0, 0.5, rng)
		probe := NewConv2D("conv", c.kh, c.kw, c.cin, c.cout, ConvOptions{StrideH: c.sh, StrideW: c.sw, Padding: c.padding,
			Pads: c.pads, DilationH: c.dh, DilationW: c.dw, NoBias: c.noBias, ReLU: c.relu})
		gh, gw, err := probe.geometry(x.Shape)
		if err != nil {
			t.Fatal(err)
		}
		ps := [][]float64{to64(kernel.Data)}
		if !c.noBias {
			ps = append(ps, to64(bias.Data))
		}
		x64 := to64(x.Data)
		y64 := refConv(c.N, c.H, c.W, c.cin, c.cout, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw,
			gh.padBegin, gw.padBegin, gh.padEnd, gw.padEnd, c.relu)(x64, ps)
		dy := randTensor(rng, c.N, gh.out, gw.out, c.cout)
		dk64, db64, dx64 := refConvBackward(c.N, c.H, c.W, c.cin, c.cout, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw,
			gh.padBegin, gw.padBegin, gh.out, gw.out, c.relu, x64, ps[0], y64, to64(dy.Data))
		for _, name := range convNames {
			for mode, what := range []string{"trainable", "frozen", "nodx"} {
				t.Run(fmt.Sprintf("case%d/%s/%s", ci, name, what), func(t *testing.T) {
					l := NewConv2D("conv", c.kh, c.kw, c.cin, c.cout, ConvOptions{StrideH: c.sh, StrideW: c.sw, Padding: c.padding,
						Pads: c.pads, DilationH: c.dh, DilationW: c.dw, NoBias: c.noBias, ReLU: c.relu})
					l.pinned = name
					l.Kernel.Value.CopyFrom(kernel)
					if l.Bias != nil {
						l.Bias.Value.CopyFrom(bias)
					}
					l.SetTrainable(mode != 1)
					l.SetBackwardPlan(true, mode != 2)
					for rep := range 2 { // the second call runs on the algorithms' kept scratch
						y := l.Forward(x, true)
						closeTo(t, fmt.Sprintf("call %d: y", rep), y.Data, y64)
						dx := l.Backward(dy)
						if mode == 2 {
							if dx != nil {
								t.Fatal("dx computed without inputGrad")
							}
						} else {
							closeTo(t, fmt.Sprintf("call %d: dx", rep), dx.Data, dx64)
						}
						if mode != 1 {
							closeTo(t, fmt.Sprintf("call %d: dKernel", rep), l.Kernel.Grad.Data, dk64)
							if l.Bias != nil {
								closeTo(t, fmt.Sprintf("call %d: dBias", rep), l.Bias.Grad.Data, db64)
							}
						}
					}
				})
			}
		}
	}
}

// closeTo fails unless got matches want within float32 rounding of sums of
// values up to the largest |want|.
func closeTo(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i, v := range want {
		if d := math.Abs(float64(got[i]) - v); d > 1e-5*scale+1e-4*math.Abs(v)+1e-6 {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], v)
		}
	}
}

// TestChooseConvVGG16 pins the decision table's answers for VGG16's
// convolutions (3x3, 'same', stride 1) at batch 1 and 16, as the table in
// conv_algorithms.go states them, under auto and direct.
func TestChooseConvVGG16(t *testing.T) {
	type want struct {
		fwd, bwd convAlg
		dk       kernelGradStep
		dx       inputGradStep
		wino     winograd.Variant
	}
	cases := []struct {
		hw, cin, cout, n int
		name             string
		want             want
	}{
		// RGB input: thin both ways (K = 27), Winograd left for cin < 16.
		{224, 3, 64, 1, ConvAuto, want{algThin, algThin, dkTiles, dxThinGather, 0}},
		{224, 3, 64, 16, ConvDirect, want{algThin, algThin, dkTiles, dxThinGather, 0}},
		// Many pixels per patch column: Toeplitz dKernel; dx by Winograd, or transposed when direct.
		{224, 64, 64, 1, ConvAuto, want{algWinograd, algWinograd, dkToeplitz, dxTransposed, winograd.F4}},
		{224, 64, 64, 1, ConvDirect, want{algImplicit, algImplicit, dkToeplitz, dxTransposed, 0}},
		{112, 128, 128, 1, ConvDirect, want{algImplicit, algImplicit, dkToeplitz, dxTransposed, 0}},
		// 56x56x256 at batch 1: M = 3136 < 4·K, so tiles; dx transposed (M·K > 4 Mi).
		{56, 256, 256, 1, ConvDirect, want{algImplicit, algImplicit, dkTiles, dxTransposed, 0}},
		// block4 at batch 1: M = 784 < 2·K and M·K = 3.6 Mi: col2im.
		{28, 512, 512, 1, ConvDirect, want{algImplicit, algImplicit, dkTiles, dxCol2im, 0}},
		// block5: F2 at batch 1 (16 F4 tiles < 48, 49 F2 tiles ≥ 40), F4 at 16;
		// M = 3136 < 4·K even at batch 16: dKernel by tiles.
		{14, 512, 512, 1, ConvAuto, want{algWinograd, algWinograd, dkTiles, dxCol2im, winograd.F2}},
		{14, 512, 512, 16, ConvAuto, want{algWinograd, algWinograd, dkTiles, dxTransposed, winograd.F4}},
		{14, 512, 512, 16, ConvImplicitGEMM, want{algImplicit, algImplicit, dkTiles, dxTransposed, 0}},
		// 112x112x64 at batch 16 without the Toeplitz view: transposed dKernel (M ≥ 4·K, K ≥ 64).
		{112, 64, 64, 16, ConvImplicitGEMM, want{algImplicit, algImplicit, dkTransposed, dxTransposed, 0}},
		{14, 512, 512, 1, ConvToeplitz, want{algImplicit, algImplicit, dkToeplitz, dxCol2im, 0}},
		{14, 512, 512, 1, ConvReference, want{algReference, algReference, 0, 0, 0}},
		{14, 512, 512, 1, ConvThin, want{algThin, algThin, 0, 0, 0}},
		{14, 512, 512, 1, ConvPointwise, want{algImplicit, algImplicit, dkTiles, dxCol2im, 0}}, // not 1x1: as direct
	}
	th := defaultConvThresholds()
	for _, c := range cases {
		g := axisGeom{in: c.hw, out: c.hw, kernel: 3, stride: 1, dilation: 1, padBegin: 1, padEnd: 1}
		k := convCase{kh: 3, kw: 3, cin: c.cin, cout: c.cout, gh: g, gw: g, n: c.n, batch: c.n, level: "avx2"}
		p := chooseConv(k, c.name, &th)
		got := want{p.fwd, p.bwd, p.dk, p.dx, p.wino}
		if got != c.want {
			t.Errorf("%dx%d %d->%d batch %d %s: plan %+v, want %+v", c.hw, c.hw, c.cin, c.cout, c.n, c.name, got, c.want)
		}
	}
}

// TestConvEnvName: an invalid GOTRANSFER_CONV names the variable, the
// value and every valid name; each valid name is accepted.
func TestConvEnvName(t *testing.T) {
	_, err := parseConvEnv("fast")
	if err == nil {
		t.Fatal("GOTRANSFER_CONV=fast accepted")
	}
	for _, s := range append([]string{"GOTRANSFER_CONV", `"fast"`}, convNames...) {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	for _, n := range append([]string{""}, convNames...) {
		if v, err := parseConvEnv(n); err != nil || v != n {
			t.Errorf("GOTRANSFER_CONV=%q: %q, %v", n, v, err)
		}
	}
}
