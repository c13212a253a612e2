package vgg_test

import (
	"fmt"

	"github.com/gotransfer/gotransfer/vgg"
)

// InspectKerasWeights checks a weights file against the VGG topology and
// reports the network it holds, so a caller can build exactly that network.
func ExampleInspectKerasWeights() {
	wi, err := vgg.InspectKerasWeights("testdata/vgg16_notop_w16_tfkeras.h5")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(wi.Depth, wi.Channels, wi.Width, wi.IncludeTop)
	m, err := vgg.New(wi.Config(64, 64, "avg"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vgg.LoadKerasWeights(m, "testdata/vgg16_notop_w16_tfkeras.h5", vgg.LoadOptions{}))
	// Output:
	// 16 [4 8 16 32 32] 0.0625 false
	// <nil>
}
