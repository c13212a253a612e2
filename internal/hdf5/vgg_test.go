package hdf5

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestRealVGG16 reads the real Keras-layout VGG16 notop file (if present) and
// compares names, shapes and sums with what h5py recorded in expected.json.
func TestRealVGG16(t *testing.T) {
	e := loadExpected(t)
	if e.VGG == nil {
		t.Fatal("expected.json has no vgg16_notop section: rerun testdata/gen_fixtures.py where the file exists")
	}
	path := e.VGG.Path
	if env := os.Getenv("VGG16_NOTOP"); env != "" {
		path = env
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real VGG16 weights not available (%v); set VGG16_NOTOP to its path to run this test", err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.size != e.VGG.Size {
		t.Fatalf("%s is %d bytes, h5py saw %d", path, f.size, e.VGG.Size)
	}
	a, err := f.Root().Attr("layer_names")
	if err != nil {
		t.Fatal(err)
	}
	names, err := a.Strings()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, e.VGG.LayerNames) {
		t.Fatalf("layer_names %q, h5py %q", names, e.VGG.LayerNames)
	}
	for _, name := range names {
		want := e.VGG.Layers[name]
		g, err := f.Root().Group(name)
		if err != nil {
			t.Fatal(err)
		}
		a, err := g.Attr("weight_names")
		if err != nil {
			t.Fatal(err)
		}
		wn, err := a.Strings()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(wn, want.WeightNames) && len(wn)+len(want.WeightNames) > 0 {
			t.Fatalf("%s weight_names %q, h5py %q", name, wn, want.WeightNames)
		}
		for i, w := range wn {
			d, err := g.Dataset(w)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Shape(), want.Shapes[i]) {
				t.Errorf("%s/%s shape %v, h5py %v", name, w, d.Shape(), want.Shapes[i])
			}
			v, err := d.ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, x := range v {
				sum += float64(x)
			}
			if math.Abs(sum-want.Sums[i]) > 1e-9*max(1, math.Abs(want.Sums[i])) {
				t.Errorf("%s/%s sum %v, h5py %v", name, w, sum, want.Sums[i])
			}
		}
	}
	d, err := f.Root().Dataset("block1_conv1/block1_conv1_W_1:0")
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.ReadFloat32()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range e.VGG.Block1.First {
		if float64(k[i]) != want {
			t.Errorf("block1_conv1_W[%d] = %v, h5py %v", i, k[i], want)
		}
	}
	// Shape (3,3,3,64) row-major: [h,w,c,o] at ((h*3+w)*3+c)*64+o.
	if got := float64(k[((2*3+1)*3+0)*64+63]); got != e.VGG.Block1.At2_1_0 {
		t.Errorf("W[2,1,0,63] = %v, h5py %v", got, e.VGG.Block1.At2_1_0)
	}
	if got := float64(k[((0*3+2)*3+1)*64+17]); got != e.VGG.Block1.At0_2_1 {
		t.Errorf("W[0,2,1,17] = %v, h5py %v", got, e.VGG.Block1.At0_2_1)
	}
}

// TestRealVGG16RoundTrip copies the real file through our reader and writer
// and reads the copy back: names, shapes and every value must survive.
func TestRealVGG16RoundTrip(t *testing.T) {
	path := "/work/shared/weights/vgg16_imagenette_notop.h5"
	if env := os.Getenv("VGG16_NOTOP"); env != "" {
		path = env
	}
	f, err := Open(path)
	if err != nil {
		t.Skipf("real VGG16 weights not available (%v); set VGG16_NOTOP to its path to run this test", err)
	}
	defer f.Close()
	w := NewWriter()
	a, err := f.Root().Attr("layer_names")
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := a.Strings()
	w.Root().SetStringsAttr("layer_names", layers)
	want := map[string][]float32{}
	for _, l := range layers {
		g, err := f.Root().Group(l)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := g.Attr("weight_names")
		names, _ := a.Strings()
		wg := w.Root().Group(l)
		wg.SetStringsAttr("weight_names", names)
		for _, n := range names {
			d, _ := g.Dataset(n)
			v, err := d.ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			wg.AddFloat32(n, d.Shape(), v)
			want[l+"/"+n] = v
		}
	}
	out := filepath.Join(t.TempDir(), "copy.h5")
	if err := w.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	c, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, _ = c.Root().Attr("layer_names")
	got, _ := a.Strings()
	if !reflect.DeepEqual(got, layers) {
		t.Fatalf("layer_names %q, want %q", got, layers)
	}
	for p, v := range want {
		d, err := c.Root().Dataset(p)
		if err != nil {
			t.Fatal(err)
		}
		cv, err := d.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cv, v) {
			t.Fatalf("%s differs after the round trip", p)
		}
	}
}
