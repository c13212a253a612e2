package nn

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// TestToeplitzKernelGrad checks every element of dKernel computed with the
// patches read in place (conv_toeplitz.go) against a float64 sum over the
// pixels, for paddings on one or both sides (so views that start before x,
// end after it, and edge taps that read the neighbouring row), a kernel
// wider than the image, several images, 1–3 cores (ranges split inside
// images and rows), and every kernel level (operands read in place or
// packed).
func TestToeplitzKernelGrad(t *testing.T) {
	cases := []struct {
		N, H, W, cin, cout, kh, kw int
		pads                       [4]int // top, left, bottom, right
	}{
		{3, 16, 16, 16, 16, 3, 3, [4]int{1, 1, 1, 1}},
		{2, 13, 24, 16, 5, 3, 3, [4]int{0, 2, 2, 0}},
		{2, 20, 21, 16, 3, 2, 2, [4]int{0, 0, 1, 1}},
		{2, 30, 29, 16, 4, 5, 5, [4]int{2, 2, 2, 2}},
		{8, 40, 3, 16, 6, 3, 5, [4]int{1, 2, 1, 2}}, // every pixel is an edge pixel
		{2, 24, 24, 32, 8, 3, 3, [4]int{1, 1, 1, 1}},
		{10, 9, 9, 64, 4, 1, 3, [4]int{0, 1, 0, 1}},
		{3, 16, 14, 16, 10, 3, 3, [4]int{0, 1, 2, 1}}, // cout not a multiple of 16
	}
	prevLevel, prevProcs := kernels.Level(), runtime.GOMAXPROCS(0)
	defer func() {
		kernels.SetLevel(prevLevel)
		runtime.GOMAXPROCS(prevProcs)
	}()
	for ci, c := range cases {
		for _, level := range kernels.Levels() {
			for procs := 1; procs <= 3; procs++ {
				t.Run(fmt.Sprintf("case%d/%s/procs%d", ci, level, procs), func(t *testing.T) {
					if err := kernels.SetLevel(level); err != nil {
						t.Fatal(err)
					}
					runtime.GOMAXPROCS(procs)
					l := NewConv2D("conv", c.kh, c.kw, c.cin, c.cout, ConvOptions{Padding: "explicit", Pads: c.pads, NoBias: true})
					l.pinned = ConvToeplitz
					rng := tensor.NewRNG(uint64(ci + 1))
					tensor.Normal(l.Kernel.Value, 0, 0.5, rng)
					x := randTensor(rng, c.N, c.H, c.W, c.cin)
					y := l.Forward(x, true)
					if !y.Shape.Equal(tensor.Shape{c.N, c.H, c.W, c.cout}) {
						t.Fatalf("output %v, want the input's size", y.Shape)
					}
					dy := randTensor(rng, y.Shape...)
					l.Backward(dy.Clone())
					if l.plan.bwd != algImplicit || l.plan.dk != dkToeplitz {
						t.Fatalf("dKernel did not take the in-place (Toeplitz) path: plan %+v", l.plan)
					}
					got := l.Kernel.Grad.Data
					pt, pl := c.pads[0], c.pads[1]
					bad := 0
					for i := range c.kh {
						for j := range c.kw {
							for ch := range c.cin {
								for m := range c.cout {
									var s, mag float64
									for n := range c.N {
										for oh := range c.H {
											ih := oh - pt + i
											if ih < 0 || ih >= c.H {
												continue
											}
											for ow := range c.W {
												iw := ow - pl + j
												if iw < 0 || iw >= c.W {
													continue
												}
												v := float64(x.Data[((n*c.H+ih)*c.W+iw)*c.cin+ch]) * float64(dy.Data[((n*c.H+oh)*c.W+ow)*c.cout+m])
												s += v
												mag += math.Abs(v)
											}
										}
									}
									g := float64(got[((i*c.kw+j)*c.cin+ch)*c.cout+m])
									if d := math.Abs(g - s); d > 1e-5*mag+1e-6 {
										if bad < 3 {
											t.Errorf("dKernel[%d,%d,%d,%d] = %g, want %g", i, j, ch, m, g, s)
										}
										bad++
									}
								}
							}
						}
					}
					if bad > 0 {
						t.Fatalf("%d of %d dKernel elements wrong", bad, len(got))
					}
				})
			}
		}
	}
}
