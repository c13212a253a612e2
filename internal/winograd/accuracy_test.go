package winograd

import (
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// vggLayer is one of VGG16's 13 convolutions at 224x224 input.
type vggLayer struct {
	name      string
	size      int // input/output height = width at 224x224
	cin, cout int
}

var vgg16 = []vggLayer{
	{"block1_conv1", 224, 3, 64}, {"block1_conv2", 224, 64, 64},
	{"block2_conv1", 112, 64, 128}, {"block2_conv2", 112, 128, 128},
	{"block3_conv1", 56, 128, 256}, {"block3_conv2", 56, 256, 256}, {"block3_conv3", 56, 256, 256},
	{"block4_conv1", 28, 256, 512}, {"block4_conv2", 28, 512, 512}, {"block4_conv3", 28, 512, 512},
	{"block5_conv1", 14, 512, 512}, {"block5_conv2", 14, 512, 512}, {"block5_conv3", 14, 512, 512},
}

// TestAccuracyVGG16Layers measures max|got-ref|/max|ref| against the direct
// float64 convolution for every VGG16 layer's channel counts, on a 14x14
// image (block5's real size; with F4 the last tile row/column is
// partial). Activations are realistic: the first layer sees image-like
// inputs (pixels minus a mean, ±128), each later layer sees the previous
// layer's float64 ReLU output, with He-normal weights and small biases, so
// the scale of every layer's input is what a He-initialised VGG16 produces.
// (Pooling is skipped to keep 14x14.) BackwardData is checked the same way
// with a N(0,1) gradient. Both variants must stay within 1e-4.
func TestAccuracyVGG16Layers(t *testing.T) {
	const n, hw = 1, 14
	rng := tensor.NewRNG(11)
	x := make([]float32, n*hw*hw*3)
	for i := range x {
		x[i] = float32(rng.Float64()*255 - 120)
	}
	t.Logf("%-13s %5s %5s %12s %12s %12s %12s", "layer", "cin", "cout", "fwd F2", "fwd F4", "bwd-data F2", "bwd-data F4")
	for _, l := range vgg16 {
		k := heKernel(l.cin, l.cout, rng)
		bias := randn(l.cout, 0.05, rng)
		ref := convRef64(x, n, hw, hw, l.cin, k, l.cout, bias, true)
		var errs [2]float64
		for i, v := range variants {
			y := make([]float32, len(ref))
			NewPlan(k, l.cin, l.cout, v).Forward(x, n, hw, hw, bias, true, y)
			errs[i] = relErr(y, ref)
			if errs[i] > 1e-4 {
				t.Errorf("%s %v: relative error %.3g > 1e-4", l.name, v, errs[i])
			}
		}
		// BackwardData with a signed gradient dy ~ N(0,1).
		dy := randn(n*hw*hw*l.cout, 1, rng)
		bref := backRef64(dy, n, hw, hw, l.cout, k, l.cin)
		var berrs [2]float64
		for i, v := range variants {
			dx := make([]float32, len(x))
			NewPlan(k, l.cin, l.cout, v).BackwardData(dy, n, hw, hw, dx)
			berrs[i] = relErr(dx, bref)
			if berrs[i] > 1e-4 {
				t.Errorf("%s %v backward: relative error %.3g > 1e-4", l.name, v, berrs[i])
			}
		}
		t.Logf("%-13s %5d %5d %12.3g %12.3g %12.3g %12.3g", l.name, l.cin, l.cout, errs[0], errs[1], berrs[0], berrs[1])
		x = make([]float32, len(ref))
		for i, r := range ref {
			x[i] = float32(r)
		}
	}
}
