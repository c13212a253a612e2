package vgg

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/gotransfer/gotransfer/internal/hdf5"
	"github.com/gotransfer/gotransfer/tensor"
)

// WeightsInfo describes the VGG network stored in a Keras weights file.
type WeightsInfo struct {
	Depth       int     // 11, 13, 16 or 19, from the number of block convolutions
	Width       float64 // block1_conv1's output channels / 64
	Channels    [5]int  // output channels of blocks 1-5
	IncludeTop  bool    // the file has fc1, fc2 and predictions
	TopChannels int     // fc1 units (IncludeTop only)
	Classes     int     // predictions units (IncludeTop only)
	InputHW     int     // with IncludeTop, the square input side implied by fc1 (0 when not square-consistent)
}

// Config returns a Config that rebuilds exactly the file's network for
// input (h, w) with the given pooling (ignored with IncludeTop).
func (wi WeightsInfo) Config(h, w int, pooling string) Config {
	c := Config{Depth: wi.Depth, IncludeTop: wi.IncludeTop, InputShape: [3]int{h, w, 3},
		Width: wi.Width, Channels: wi.Channels, TopChannels: wi.TopChannels, Classes: wi.Classes}
	if !wi.IncludeTop {
		c.Pooling = pooling
	}
	return c
}

var convName = regexp.MustCompile(`^block([1-5])_conv([1-9])$`)

// InspectKerasWeights reads a Keras VGG weights file's layer names and
// weight shapes (not its values) and works out depth, width and top. It
// checks the whole file against the VGG topology before anyone allocates a
// network from it: every convolution of the depth present with a (3, 3,
// in, out) kernel and an (out) bias chained from 3 input channels, the five
// block widths those of one width multiplier (Scale of 64, 128, 256, 512,
// 512), the top (when present) chained from block5 (fc1 (cells·C5, U), fc2
// (U, U), predictions (U, K), with biases), and the weights' total size
// within what the file can hold. A file that fails is refused with an error
// naming the layer, so a crafted shape cannot make a caller build a
// network of arbitrary size.
func InspectKerasWeights(path string) (WeightsInfo, error) {
	f, err := hdf5.Open(path)
	if err != nil {
		return WeightsInfo{}, fmt.Errorf("vgg: %w", err)
	}
	defer f.Close()
	wi, err := inspect(f)
	if err != nil {
		return wi, fmt.Errorf("vgg: %s: %w", path, err)
	}
	return wi, nil
}

func inspect(f *hdf5.File) (WeightsInfo, error) {
	var wi WeightsInfo
	layers, err := readFileLayers(f)
	if err != nil {
		return wi, err
	}
	layers = flattenNested(layers, func(name string) bool {
		return convName.MatchString(name) || name == "fc1" || name == "fc2" || name == "predictions"
	})
	byName := map[string]fileLayer{}
	var convs [5]int
	for _, fl := range layers {
		byName[fl.name] = fl
		if mt := convName.FindStringSubmatch(fl.name); mt != nil {
			b, _ := strconv.Atoi(mt[1])
			convs[b-1]++
		}
	}
	for d, plan := range BlockConvs {
		if plan == convs {
			wi.Depth = d
		}
	}
	if wi.Depth == 0 {
		return wi, fmt.Errorf("convolutions per block %v match no VGG depth (11: %v, 13: %v, 16: %v, 19: %v)",
			convs, BlockConvs[11], BlockConvs[13], BlockConvs[16], BlockConvs[19])
	}
	var elems uint64
	weights := func(name string, want ...[]int) error {
		fl, ok := byName[name]
		if !ok {
			return fmt.Errorf("no layer %q with weights", name)
		}
		if len(fl.datasets) != len(want) {
			return fmt.Errorf("layer %q has %d weights, want %d (kernel, bias)", name, len(fl.datasets), len(want))
		}
		for i, d := range fl.datasets {
			if got := d.Shape(); !tensor.Shape(got).Equal(want[i]) {
				return fmt.Errorf("layer %q: weight %s has shape %v, the VGG%d topology needs %v", name, fl.weights[i], tensor.Shape(got), wi.Depth, tensor.Shape(want[i]))
			}
			n := uint64(1)
			for _, s := range want[i] {
				n *= uint64(s) // cannot overflow: the dataset's size was checked by the reader
			}
			elems += n
		}
		return nil
	}
	// Block widths come from each block's first kernel; every shape is then
	// checked against them.
	for b := range 5 {
		name := fmt.Sprintf("block%d_conv1", b+1)
		fl, ok := byName[name]
		if !ok || len(fl.datasets) == 0 {
			return wi, fmt.Errorf("no layer %q with weights", name)
		}
		s := fl.datasets[0].Shape()
		if len(s) != 4 {
			return wi, fmt.Errorf("layer %q: first weight %s has shape %v, want rank 4", name, fl.weights[0], tensor.Shape(s))
		}
		wi.Channels[b] = s[3]
	}
	if _, _, err := widthFor(wi.Channels); err != nil {
		return wi, err
	}
	wi.Width = float64(wi.Channels[0]) / 64
	cin := 3
	for b, n := range BlockConvs[wi.Depth] {
		cout := wi.Channels[b]
		for i := 1; i <= n; i++ {
			if err := weights(fmt.Sprintf("block%d_conv%d", b+1, i), []int{3, 3, cin, cout}, []int{cout}); err != nil {
				return wi, err
			}
			cin = cout
		}
	}
	if fc1, ok := byName["fc1"]; ok {
		wi.IncludeTop = true
		for _, name := range []string{"fc2", "predictions"} {
			if _, ok := byName[name]; !ok {
				return wi, fmt.Errorf("the file has fc1 but no layer %q with weights", name)
			}
		}
		if len(fc1.datasets) != 2 || len(fc1.datasets[0].Shape()) != 2 {
			return wi, fmt.Errorf("layer \"fc1\": want a kernel of rank 2 and a bias")
		}
		pred := byName["predictions"]
		if len(pred.datasets) != 2 || len(pred.datasets[0].Shape()) != 2 {
			return wi, fmt.Errorf("layer \"predictions\": want a kernel of rank 2 and a bias")
		}
		s1, sp := fc1.datasets[0].Shape(), pred.datasets[0].Shape()
		c5 := wi.Channels[4]
		rows, units, classes := s1[0], s1[1], sp[1]
		if rows < c5 || rows%c5 != 0 || units < 1 || classes < 1 {
			return wi, fmt.Errorf("layer \"fc1\": kernel shape %v does not take the flattened block5_pool output (cells × %d channels)", tensor.Shape(s1), c5)
		}
		for _, e := range []error{
			weights("fc1", []int{rows, units}, []int{units}),
			weights("fc2", []int{units, units}, []int{units}),
			weights("predictions", []int{units, classes}, []int{classes}),
		} {
			if e != nil {
				return wi, e
			}
		}
		wi.TopChannels, wi.Classes = units, classes
		// fc1's input is side·side·channels for a square input of 32·side
		cells := rows / c5
		if side := int(math.Sqrt(float64(cells))); side*side == cells {
			wi.InputHW = 32 * side
		} else if (side+1)*(side+1) == cells {
			wi.InputHW = 32 * (side + 1)
		}
	}
	// The network built from these shapes holds elems float32 values (and
	// as much again in gradients): refuse more than the file could supply.
	if limit := f.MaxDataBytes(); elems > limit/4 {
		return wi, fmt.Errorf("the weights' shapes add up to %d values, more than this file can hold", elems)
	}
	return wi, nil
}

// widthFor returns the range [lo, hi) of width multipliers w for which
// Scale(BlockChannels[b], w) == ch[b] for every block, or an error when no
// single multiplier gives these channel counts. Scale rounds half away from
// zero and is at least 1, so Scale(c, w) == n means w ∈ [(n-½)/c, (n+½)/c)
// for n ≥ 2 and w ∈ (0, 1.5/c) for n = 1.
func widthFor(ch [5]int) (lo, hi float64, err error) {
	lo, hi = 0, math.Inf(1)
	for b, n := range ch {
		c := float64(BlockChannels[b])
		if n < 1 {
			return 0, 0, fmt.Errorf("block%d_conv1 has %d output channels", b+1, n)
		}
		l, h := (float64(n)-0.5)/c, (float64(n)+0.5)/c
		if n == 1 {
			l = 0
		}
		lo, hi = max(lo, l), min(hi, h)
	}
	if lo >= hi {
		return 0, 0, fmt.Errorf("block output channels %v are not VGG's %v at any one width multiplier", ch, BlockChannels)
	}
	return lo, hi, nil
}

// InferWidth returns the channel multiplier of a Keras VGG weights file:
// block1_conv1's output channels / 64 (1 for the real ImageNet files).
func InferWidth(path string) (float64, error) {
	wi, err := InspectKerasWeights(path)
	return wi.Width, err
}
