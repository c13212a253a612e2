package nn

import "fmt"

// axisGeom is the geometry of one spatial axis of a sliding window
// (convolution or pooling): output o reads input taps
//
//	in = o·stride − padBegin + t·dilation,   t = 0..kernel−1,
//
// and taps outside [0, in) are padding.
type axisGeom struct {
	in, out          int
	kernel, stride   int
	dilation         int
	padBegin, padEnd int
}

// span is the extent of the dilated window: (k−1)·d + 1.
func (g axisGeom) span() int { return (g.kernel-1)*g.dilation + 1 }

// resolveAxis computes output size and padding for one axis.
//
// padding is "valid" (no padding), "same" or "same_upper" (Keras 'same' and
// ONNX SAME_UPPER: out = ceil(in/stride), total padding
// max(0, (out−1)·s + span − in), the odd extra at the end), "same_lower" (ONNX
// SAME_LOWER: the odd extra at the start) or "explicit" (padBegin, padEnd as
// given). With ceilMode the output size uses ceil instead of floor, and, as in
// PyTorch, a last window starting beyond the input and its begin padding is
// dropped.
func resolveAxis(in, kernel, stride, dilation int, padding string, padBegin, padEnd int, ceilMode bool) (axisGeom, error) {
	if stride <= 0 {
		stride = 1
	}
	if dilation <= 0 {
		dilation = 1
	}
	g := axisGeom{in: in, kernel: kernel, stride: stride, dilation: dilation}
	if kernel <= 0 || in <= 0 {
		return g, fmt.Errorf("kernel %d and input %d must be positive", kernel, in)
	}
	switch padding {
	case "", "valid":
	case "same", "same_upper", "same_lower":
		out := (in + stride - 1) / stride
		total := max(0, (out-1)*stride+g.span()-in)
		small := total / 2
		if padding == "same_lower" {
			g.padBegin, g.padEnd = total-small, small
		} else {
			g.padBegin, g.padEnd = small, total-small
		}
	case "explicit":
		if padBegin < 0 || padEnd < 0 {
			return g, fmt.Errorf("negative padding %d, %d", padBegin, padEnd)
		}
		g.padBegin, g.padEnd = padBegin, padEnd
	default:
		return g, fmt.Errorf("unknown padding %q (want valid, same, same_upper, same_lower or explicit)", padding)
	}
	room := in + g.padBegin + g.padEnd - g.span()
	if room < 0 {
		return g, fmt.Errorf("window span %d exceeds padded input %d", g.span(), in+g.padBegin+g.padEnd)
	}
	if ceilMode {
		g.out = (room+stride-1)/stride + 1
		if (g.out-1)*stride >= in+g.padBegin {
			g.out--
		}
	} else {
		g.out = room/stride + 1
	}
	return g, nil
}
