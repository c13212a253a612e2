package vgg

import (
	"os"
	"testing"

	"github.com/gotransfer/gotransfer/nn"

	"github.com/gotransfer/gotransfer/tensor"
)

// BenchmarkVGG16Forward224 times one inference forward pass of the full
// VGG16 base (14.7M params, 15.35 G multiply-adds) on a batch of 1 at
// 224x224; GFLOP/s counts 2 FLOPs per multiply-add of the 13 convolutions.
func BenchmarkVGG16Forward224(b *testing.B) {
	m, err := New(Config{Depth: 16, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	x := formulaImage224()
	PreprocessInput(x)
	m.Forward(x, false)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Forward(x, false)
	}
	b.ReportMetric(2*convMACs(m)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkLoadRealNotop times LoadKerasWeights of the real 58.9 MB notop file.
func BenchmarkLoadRealNotop(b *testing.B) {
	const shared = "../../shared/weights/vgg16_imagenette_notop.h5"
	if _, err := os.Stat(shared); err != nil {
		b.Skipf("%s absent", shared)
	}
	m, err := New(Config{Depth: 16})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(58888896)
	for i := 0; i < b.N; i++ {
		if err := LoadKerasWeights(m, shared, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// convMACs counts the multiply-adds of m's 3x3 'same' convolutions for one
// sample: output pixels · 9 · cin · cout per layer.
func convMACs(m *nn.Model) float64 {
	var macs float64
	s := append(tensor.Shape{1}, m.InputShape()...)
	for _, l := range m.Layers() {
		out, _ := l.OutputShape(s)
		if c, ok := l.(*nn.Conv2D); ok {
			k := c.Kernel.Value.Shape
			macs += float64(out[1]*out[2]) * float64(k[0]*k[1]*k[2]*k[3])
		}
		s = out
	}
	return macs
}
