package nn

import (
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// TestReuseBuffers runs each layer twice side by side, one allocating on every
// call and one after ReuseBuffers, over a sequence of batches whose sizes
// change (so the kept buffers are reallocated and then reused dirty), and
// requires bit-identical outputs, input gradients and weight gradients. It
// also checks that equal-size calls really return the same storage.
func TestReuseBuffers(t *testing.T) {
	type reuser interface{ ReuseBuffers() }
	cases := []struct {
		name string
		make func() Layer
		in   []int // per-sample input shape
	}{
		{"conv_direct_relu", func() Layer {
			return NewConv2D("c", 3, 3, 5, 7, ConvOptions{Padding: "same", ReLU: true, Algorithm: "direct"})
		}, []int{9, 8, 5}},
		{"conv_winograd_relu", func() Layer {
			return NewConv2D("c", 3, 3, 4, 6, ConvOptions{Padding: "same", ReLU: true, Algorithm: "winograd"})
		}, []int{12, 12, 4}},
		{"conv_strided_valid", func() Layer {
			return NewConv2D("c", 3, 2, 3, 4, ConvOptions{StrideH: 2, StrideW: 1})
		}, []int{9, 7, 3}},
		{"conv_pointwise", func() Layer { return NewConv2D("c", 1, 1, 6, 3, ConvOptions{}) }, []int{5, 4, 6}},
		{"dense_relu", func() Layer { return NewDense("d", 10, 6, true) }, []int{10}},
		{"maxpool", func() Layer { return NewMaxPool2D("p", 2, 2, 2, 2, "valid") }, []int{6, 6, 3}},
		{"avgpool_same", func() Layer { return NewAvgPool2D("p", 3, 3, 2, 2, "same") }, []int{7, 5, 2}},
		{"gap", func() Layer { return NewGlobalAvgPool2D("g") }, []int{4, 3, 5}},
		{"gmp", func() Layer { return NewGlobalMaxPool2D("g") }, []int{4, 3, 5}},
		{"relu", func() Layer { return NewReLU("r") }, []int{3, 4, 2}},
		{"dropout", func() Layer { return NewDropout("dr", 0.3, 9) }, []int{11}},
		{"softmax", func() Layer { return NewSoftmax("s") }, []int{6}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fresh, kept := tc.make(), tc.make()
			InitParams(fresh, tensor.NewRNG(3))
			InitParams(kept, tensor.NewRNG(3))
			r, ok := kept.(reuser)
			if !ok {
				t.Fatalf("%T has no ReuseBuffers", kept)
			}
			r.ReuseBuffers()
			rng := tensor.NewRNG(5)
			var lastY *tensor.Tensor
			for call, n := range []int{3, 3, 1, 2, 2} {
				x := tensor.New(append([]int{n}, tc.in...)...)
				tensor.Normal(x, 0, 1, rng)
				yf := fresh.Forward(x, true)
				yk := kept.Forward(x, true)
				if !yf.Shape.Equal(yk.Shape) {
					t.Fatalf("call %d: shapes %v vs %v", call, yf.Shape, yk.Shape)
				}
				requireSame(t, "output", call, yf.Data, yk.Data)
				dy := tensor.New(yf.Shape...)
				tensor.Normal(dy, 0, 1, rng)
				dxf, dxk := fresh.Backward(dy), kept.Backward(dy)
				if (dxf == nil) != (dxk == nil) {
					t.Fatalf("call %d: dx nil %v vs %v", call, dxf == nil, dxk == nil)
				}
				if dxf != nil {
					requireSame(t, "dx", call, dxf.Data, dxk.Data)
				}
				pf, pk := fresh.Params(), kept.Params()
				for i := range pf {
					requireSame(t, pf[i].Name+" grad", call, pf[i].Grad.Data, pk[i].Grad.Data)
				}
				// Equal-size consecutive calls (1 after 0, 4 after 3) share storage
				// for layers that compute a new output (ReLU/Softmax/Dropout/pools
				// all do; none of these returns a view of x).
				if (call == 1 || call == 4) && &lastY.Data[0] != &yk.Data[0] {
					t.Errorf("call %d: output storage not reused", call)
				}
				lastY = yk
			}
		})
	}
}

func requireSame(t *testing.T, what string, call int, want, got []float32) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("call %d: %s: %d vs %d values", call, what, len(want), len(got))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("call %d: %s[%d] = %v, want %v (as allocated fresh)", call, what, i, got[i], want[i])
		}
	}
}
