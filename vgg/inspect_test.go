package vgg

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWidthFor: channel counts made by Scale at one width are accepted;
// counts no single width makes are refused.
func TestWidthFor(t *testing.T) {
	for _, w := range []float64{1, 0.5, 0.3, 0.1, 0.0625, 0.01, 2} {
		var ch [5]int
		for b := range ch {
			ch[b] = Scale(BlockChannels[b], w)
		}
		lo, hi, err := widthFor(ch)
		if err != nil || w < lo || w >= hi {
			t.Errorf("width %v: channels %v: widthFor = [%v, %v), %v", w, ch, lo, hi, err)
		}
	}
	for _, ch := range [][5]int{{4, 8, 16, 32, 33}, {64, 128, 256, 512, 1 << 24}, {4, 4, 4, 4, 4}, {0, 8, 16, 32, 32}} {
		if _, _, err := widthFor(ch); err == nil {
			t.Errorf("channels %v accepted", ch)
		}
	}
}

// mutateDims returns the fixture with the first dataspace whose dims are
// want (8-byte little-endian, as h5py writes them) changed so that dims[k]
// is v.
func mutateDims(t *testing.T, b []byte, want []uint64, k int, v uint64) []byte {
	t.Helper()
	pat := make([]byte, 8*len(want))
	for i, d := range want {
		binary.LittleEndian.PutUint64(pat[8*i:], d)
	}
	i := bytes.Index(b, pat)
	if i < 0 {
		t.Fatalf("no dataspace with dims %v", want)
	}
	out := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(out[i+8*k:], v)
	return out
}

// TestInspectRefusesCraftedShapes: one dataset dimension of a real
// (h5py-written) weights file changed to a huge or merely wrong value must
// be refused by InspectKerasWeights, naming a layer, before any network is
// built from it (issue 15: 2^24 made vgg.New panic in makeslice, larger
// values asked for 118 TB).
func TestInspectRefusesCraftedShapes(t *testing.T) {
	orig, err := os.ReadFile("testdata/vgg16_notop_w16_tfkeras.h5")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		dims []uint64 // the dataspace to change (block1_conv1's kernel, block3's kernels, block5's bias)
		k    int
		v    uint64
	}{
		{[]uint64{3, 3, 3, 4}, 3, 1 << 24},
		{[]uint64{3, 3, 3, 4}, 3, 8192},
		{[]uint64{3, 3, 3, 4}, 2, 1 << 40},
		{[]uint64{3, 3, 16, 16}, 3, 17},
		{[]uint64{3, 3, 16, 16}, 0, 1 << 30},
		{[]uint64{3, 3, 32, 32}, 2, 64},
	}
	for _, c := range cases {
		p := filepath.Join(dir, "m.h5")
		if err := os.WriteFile(p, mutateDims(t, orig, c.dims, c.k, c.v), 0o644); err != nil {
			t.Fatal(err)
		}
		wi, err := InspectKerasWeights(p)
		if err == nil {
			t.Errorf("dims %v with [%d] = %d: accepted as %+v", c.dims, c.k, c.v, wi)
			continue
		}
		if !strings.Contains(err.Error(), "block") {
			t.Errorf("dims %v with [%d] = %d: error %q names no layer", c.dims, c.k, c.v, err)
		}
	}
	// The unmodified file still inspects as the 1/16-width VGG16.
	wi, err := InspectKerasWeights("testdata/vgg16_notop_w16_tfkeras.h5")
	if err != nil || wi.Depth != 16 || wi.Channels != [5]int{4, 8, 16, 32, 32} {
		t.Fatalf("unmodified file: %+v, %v", wi, err)
	}
}

// TestLoadWarnsNonFinite: weights holding NaN or Inf load (as Keras does)
// but each such weight is reported, naming the layer.
func TestLoadWarnsNonFinite(t *testing.T) {
	m := smallNotop(t)
	p := m.Layer("block3_conv2").Params()
	p[0].Value.Data[5] = float32(math.NaN())
	p[1].Value.Data[0] = float32(math.Inf(1))
	p[1].Value.Data[1] = float32(math.Inf(-1))
	path := filepath.Join(t.TempDir(), "nan.h5")
	if err := SaveKerasWeights(m, path); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	if err := LoadKerasWeights(smallNotop(t), path, LoadOptions{Warnings: &warn}); err != nil {
		t.Fatal(err)
	}
	got := warn.String()
	for _, want := range []string{`layer "block3_conv2": weight block3_conv2/kernel:0 holds 1 NaN and 0 infinite`, `block3_conv2/bias:0 holds 0 NaN and 2 infinite`} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q lack %q", got, want)
		}
	}
	if strings.Count(got, "\n") != 2 {
		t.Errorf("want exactly 2 warning lines, got %q", got)
	}
}
