package tensor

import (
	"math"
	"strings"
	"testing"
)

func TestReshapeSharesData(t *testing.T) {
	x := New(2, 3, 4)
	y := x.Reshape(6, -1)
	if !y.Shape.Equal(Shape{6, 4}) {
		t.Fatalf("shape %v, want (6, 4)", y.Shape)
	}
	y.Data[5] = 7
	if x.Data[5] != 7 {
		t.Fatal("Reshape copied the data")
	}
	for _, bad := range [][]int{{5, 5}, {-1, -1}, {7, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Reshape%v of %v did not panic", bad, x.Shape)
				}
			}()
			x.Reshape(bad...)
		}()
	}
}

func TestBatchView(t *testing.T) {
	x := New(4, 2, 2, 3)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	v := x.Batch(1, 3)
	if !v.Shape.Equal(Shape{2, 2, 2, 3}) || v.Data[0] != 12 || len(v.Data) != 24 {
		t.Fatalf("Batch(1,3): shape %v first %v len %d", v.Shape, v.Data[0], len(v.Data))
	}
	v.Data[0] = -1
	if x.Data[12] != -1 {
		t.Fatal("Batch copied the data")
	}
	// The view's capacity ends at its last sample: appending must not clobber sample 3.
	_ = append(v.Data, 99)
	if x.Data[36] != 36 {
		t.Fatal("append to a view overwrote the next sample")
	}
}

func TestShapeString(t *testing.T) {
	for _, c := range []struct {
		s    Shape
		want string
	}{{Shape{16, 224, 224, 3}, "(16, 224, 224, 3)"}, {Shape{5}, "(5,)"}, {Shape{}, "()"}} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%v.String() = %q, want %q", []int(c.s), got, c.want)
		}
	}
}

func TestFans(t *testing.T) {
	if in, out := Fans(Shape{3, 3, 64, 128}); in != 576 || out != 1152 {
		t.Errorf("conv fans %d %d, want 576 1152", in, out)
	}
	if in, out := Fans(Shape{512, 256}); in != 512 || out != 256 {
		t.Errorf("dense fans %d %d, want 512 256", in, out)
	}
}

// moments returns the mean, the standard deviation and max |x| of t's data.
func moments(t *Tensor) (mean, std, maxAbs float64) {
	for _, v := range t.Data {
		mean += float64(v)
	}
	mean /= float64(len(t.Data))
	for _, v := range t.Data {
		d := float64(v) - mean
		std += d * d
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
	}
	return mean, math.Sqrt(std / float64(len(t.Data))), maxAbs
}

// TestGlorotUniform checks Keras's definition: U(-l, l), l = sqrt(6/(fan_in+fan_out)),
// whose standard deviation is l/sqrt(3).
func TestGlorotUniform(t *testing.T) {
	w := New(3, 3, 64, 128)
	GlorotUniform(w, NewRNG(1))
	limit := math.Sqrt(6.0 / (576 + 1152))
	mean, std, maxAbs := moments(w)
	if maxAbs > limit || maxAbs < 0.99*limit {
		t.Errorf("max |w| %g, want just below %g", maxAbs, limit)
	}
	if math.Abs(mean) > 0.01*limit || math.Abs(std-limit/math.Sqrt(3)) > 0.01*limit {
		t.Errorf("mean %g std %g, want 0 and %g", mean, std, limit/math.Sqrt(3))
	}
}

// TestHeNormal checks Keras's he_normal: a normal truncated at 2σ whose
// resulting standard deviation is sqrt(2/fan_in).
func TestHeNormal(t *testing.T) {
	w := New(3, 3, 64, 128)
	HeNormal(w, NewRNG(2))
	want := math.Sqrt(2.0 / 576)
	mean, std, maxAbs := moments(w)
	if math.Abs(std-want) > 0.01*want || math.Abs(mean) > 0.01*want {
		t.Errorf("mean %g std %g, want 0 and %g", mean, std, want)
	}
	if limit := 2 * want / 0.87962566103423978; maxAbs > limit {
		t.Errorf("max |w| %g beyond the truncation %g", maxAbs, limit)
	}
}

func TestSeededInitIsDeterministic(t *testing.T) {
	a, b, c := New(100), New(100), New(100)
	HeNormal(a, NewRNG(7))
	HeNormal(b, NewRNG(7))
	HeNormal(c, NewRNG(8))
	if d, _ := MaxAbsDiff(a.Data, b.Data); d != 0 {
		t.Error("same seed gave different weights")
	}
	if d, _ := MaxAbsDiff(a.Data, c.Data); d == 0 {
		t.Error("different seeds gave the same weights")
	}
}

func TestAllClose(t *testing.T) {
	if err := AllClose([]float32{1, 2}, []float32{1, 2.0001}, 1e-4, 0); err != nil {
		t.Errorf("within tolerance: %v", err)
	}
	err := AllClose([]float32{1, 2}, []float32{1, 2.01}, 1e-4, 1e-5)
	if err == nil || !strings.Contains(err.Error(), "element 1") {
		t.Errorf("outside tolerance: got %v", err)
	}
	if AllClose([]float32{float32(math.NaN())}, []float32{0}, 1, 1) == nil {
		t.Error("NaN accepted")
	}
}
