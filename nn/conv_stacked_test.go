package nn

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// TestStackedForwardBands checks the banded stacked forward
// (conv_stacked_band.go) against the float64 reference convolution with
// one output row per band, a few rows per band and the default band size,
// on images large enough for the rows to be split across the cores and
// into many bands (strides, padding, batch > 1, no bias).
func TestStackedForwardBands(t *testing.T) {
	cases := []struct {
		N, H, W, cin, cout, kh, kw, sh, sw, dh int
		padding                                string
		noBias, relu                           bool
	}{
		{2, 19, 23, 3, 16, 3, 3, 1, 1, 1, "same", false, true},
		{1, 30, 17, 3, 33, 3, 3, 2, 2, 1, "same", false, false},
		{2, 13, 29, 2, 8, 5, 3, 1, 2, 2, "valid", true, true},
		{3, 16, 40, 4, 64, 2, 2, 2, 1, 1, "valid", false, true},
		{1, 21, 26, 3, 8, 3, 3, 1, 1, 2, "same", false, true}, // RGB, dilated rows
	}
	for ci, c := range cases {
		rng := tensor.NewRNG(uint64(ci + 1))
		l := NewConv2D("conv", c.kh, c.kw, c.cin, c.cout, ConvOptions{StrideH: c.sh, StrideW: c.sw, DilationH: c.dh,
			Padding: c.padding, NoBias: c.noBias, ReLU: c.relu})
		l.pinned = ConvThin
		InitParams(l, rng)
		if l.Bias != nil {
			tensor.Uniform(l.Bias.Value, -0.5, 0.5, rng)
		}
		x := randTensor(rng, c.N, c.H, c.W, c.cin)
		gh, gw, err := l.geometry(x.Shape)
		if err != nil {
			t.Fatal(err)
		}
		if p := l.choose(c.N, gh, gw); p.fwd != algThin {
			t.Fatalf("case %d should take the stacked path, plan %+v", ci, p)
		}
		ps := [][]float64{to64(l.Kernel.Value.Data)}
		if l.Bias != nil {
			ps = append(ps, to64(l.Bias.Value.Data))
		}
		ref := refConv(c.N, c.H, c.W, c.cin, c.cout, c.kh, c.kw, c.sh, c.sw, c.dh, 1,
			gh.padBegin, gw.padBegin, gh.padEnd, gw.padEnd, c.relu)(to64(x.Data), ps)
		for _, macs := range []int{0, 2 * gw.out * c.cout * c.kh * c.kw * c.cin, 1<<20 - 1, 1 << 22} {
			t.Run(fmt.Sprintf("case%d_macs%d", ci, macs), func(t *testing.T) {
				l.tune.thinBandMACs = macs
				y := l.Forward(x, false)
				for i, v := range y.Data {
					if math.Abs(float64(v)-ref[i]) > 1e-4*(1+math.Abs(ref[i])) {
						t.Fatalf("y[%d] = %g, want %g", i, v, ref[i])
					}
				}
			})
		}
	}
}

// TestThinBackwardChunks compares the fused thin backward (output rows
// split across the cores in ranges walked chunk by chunk, dx rows shared by
// two ranges gathered into side rows) with the implicit GEMM: dKernel, dBias and dx, on images large enough for many chunks, with
// 1, 2 and 3 cores, chunks spanning several images, 'valid' padding,
// dilated rows, a 5×3 kernel, no ReLU, and a frozen layer (dx only) or no
// dx (first layer).
func TestThinBackwardChunks(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	cases := []struct {
		N, H, W, cin, cout, kh, kw, dh int
		padding                        string
		relu, frozen, noDx             bool
	}{
		{1, 70, 67, 3, 16, 3, 3, 1, "same", true, false, false},
		{2, 45, 50, 2, 8, 3, 3, 1, "same", true, false, false},
		{3, 12, 20, 3, 8, 3, 3, 1, "same", true, false, false},    // a core's range is one chunk over images
		{2, 30, 33, 3, 8, 3, 3, 2, "same", true, false, false},    // dilated rows: dx rows shared 2 apart
		{2, 26, 31, 3, 12, 5, 3, 1, "valid", false, false, false}, // tall kernel, no padding, no ReLU
		{2, 21, 19, 3, 16, 3, 3, 1, "valid", true, false, false},  // RGB 3×3 unpadded (edge pixels on both sides)
		{1, 9, 5, 3, 16, 3, 3, 1, "same", true, false, false},     // narrower than the window's interior
		{2, 40, 24, 3, 8, 3, 3, 1, "same", true, true, false},     // frozen: dx only
		{2, 40, 24, 3, 8, 3, 3, 1, "same", true, false, true},     // first layer: no dx
	}
	for ci, c := range cases {
		for _, procs := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("case%d_procs%d", ci, procs), func(t *testing.T) {
				runtime.GOMAXPROCS(procs)
				rng := tensor.NewRNG(uint64(ci + 21))
				x := randTensor(rng, c.N, c.H, c.W, c.cin)
				var grads [2][][]float32
				for run, alg := range []string{ConvThin, ConvImplicitGEMM} {
					l := NewConv2D("conv", c.kh, c.kw, c.cin, c.cout, ConvOptions{Padding: c.padding, DilationH: c.dh,
						ReLU: c.relu})
					l.pinned = alg
					InitParams(l, tensor.NewRNG(5))
					tensor.Uniform(l.Bias.Value, -0.2, 0.2, tensor.NewRNG(6))
					l.SetTrainable(!c.frozen)
					l.SetBackwardPlan(true, !c.noDx)
					y := l.Forward(x, true)
					if run == 0 && l.plan.bwd != algThin || run == 1 && l.plan.bwd != algImplicit {
						t.Fatalf("%s: plan %+v", alg, l.plan)
					}
					dy := randTensor(tensor.NewRNG(7), y.Shape...)
					dx := l.Backward(dy)
					grads[run] = nil
					if !c.frozen {
						grads[run] = append(grads[run], l.Kernel.Grad.Data, l.Bias.Grad.Data)
					}
					if !c.noDx {
						grads[run] = append(grads[run], dx.Data)
					} else if dx != nil {
						t.Fatal("dx computed without inputGrad")
					}
				}
				names := []string{"dKernel", "dBias", "dx"}
				if c.frozen {
					names = names[2:]
				}
				for i := range grads[1] {
					for k, v := range grads[0][i] {
						w := grads[1][i][k]
						if math.Abs(float64(v-w)) > 1e-3*(1+math.Abs(float64(w))) {
							t.Fatalf("%s[%d] = %g, general path %g", names[i], k, v, w)
						}
					}
				}
			})
		}
	}
}
