package winograd

import (
	"image"
	_ "image/jpeg"
	"math"
	"os"
	"testing"

	"github.com/gotransfer/gotransfer/internal/hdf5"
)

// Real VGG16 weights (Keras notop layout) and a real photo from the shared
// material; VGG16_NOTOP overrides the weights path like internal/hdf5's test.
const (
	realWeightsPath = "../../../shared/weights/vgg16_imagenette_notop.h5"
	realPhotoPath   = "../../../shared/datasets/imagenette_224_subset/train/n01440764/ILSVRC2012_val_00000293.JPEG"
)

// TestAccuracyRealVGG16 runs the real VGG16 conv stack on a real photo
// (nearest-resized to 56x56, Caffe preprocessing: BGR minus the ImageNet
// mean), with 2x2 max-pooling between blocks as in the network, and checks
// every layer of both variants against the float64 direct convolution
// (each layer fed the float64 reference output of the previous one).
func TestAccuracyRealVGG16(t *testing.T) {
	path := realWeightsPath
	if env := os.Getenv("VGG16_NOTOP"); env != "" {
		path = env
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real VGG16 weights not available (%v); set VGG16_NOTOP to its path to run this test", err)
	}
	f, err := hdf5.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size = 56
	x := loadPhoto(t, realPhotoPath, size)
	hw := size
	t.Logf("%-13s %5s %9s %12s %12s", "layer", "size", "max|ref|", "relerr F2", "relerr F4")
	for li, l := range vgg16 {
		k := readDataset(t, f, l.name+"/"+l.name+"_W_1:0", 9*l.cin*l.cout)
		bias := readDataset(t, f, l.name+"/"+l.name+"_b_1:0", l.cout)
		ref := convRef64(x, 1, hw, hw, l.cin, k, l.cout, bias, true)
		var errs [2]float64
		for i, v := range variants {
			y := make([]float32, len(ref))
			NewPlan(k, l.cin, l.cout, v).Forward(x, 1, hw, hw, bias, true, y)
			errs[i] = relErr(y, ref)
			if errs[i] > 1e-4 {
				t.Errorf("%s %v: relative error %.3g > 1e-4", l.name, v, errs[i])
			}
		}
		scale := 0.0
		for _, r := range ref {
			scale = math.Max(scale, math.Abs(r))
		}
		t.Logf("%-13s %5d %9.3g %12.3g %12.3g", l.name, hw, scale, errs[0], errs[1])
		if li+1 < len(vgg16) && vgg16[li+1].size < l.size { // 2x2 max-pool
			ref = maxPool2(ref, hw, hw, l.cout)
			hw /= 2
		}
		x = make([]float32, len(ref))
		for i, r := range ref {
			x[i] = float32(r)
		}
	}
}

func readDataset(t *testing.T, f *hdf5.File, name string, want int) []float32 {
	t.Helper()
	d, err := f.Root().Dataset(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.ReadFloat32()
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != want {
		t.Fatalf("%s: %d floats, want %d", name, len(v), want)
	}
	return v
}

// loadPhoto decodes a photo, nearest-resizes it to size×size and applies
// Keras's Caffe preprocessing (BGR order, minus 103.939/116.779/123.68).
func loadPhoto(t *testing.T, path string, size int) []float32 {
	t.Helper()
	r, err := os.Open(path)
	if err != nil {
		t.Fatalf("real photo: %v", err)
	}
	defer r.Close()
	img, _, err := image.Decode(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	mean := [3]float32{103.939, 116.779, 123.68}
	x := make([]float32, size*size*3)
	for i := 0; i < size; i++ {
		for j := 0; j < size; j++ {
			cr, cg, cb, _ := img.At(b.Min.X+j*b.Dx()/size, b.Min.Y+i*b.Dy()/size).RGBA()
			p := x[(i*size+j)*3:]
			p[0] = float32(cb>>8) - mean[0]
			p[1] = float32(cg>>8) - mean[1]
			p[2] = float32(cr>>8) - mean[2]
		}
	}
	return x
}

// maxPool2 is 2x2 stride-2 max pooling of an (h,w,c) map.
func maxPool2(x []float64, h, w, c int) []float64 {
	y := make([]float64, (h/2)*(w/2)*c)
	for i := 0; i < h/2; i++ {
		for j := 0; j < w/2; j++ {
			for k := 0; k < c; k++ {
				m := math.Inf(-1)
				for a := 0; a < 2; a++ {
					for bb := 0; bb < 2; bb++ {
						m = math.Max(m, x[((2*i+a)*w+2*j+bb)*c+k])
					}
				}
				y[(i*(w/2)+j)*c+k] = m
			}
		}
	}
	return y
}
