package dataset

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randomImage(h, w, c int, seed uint64) []uint8 {
	r := rand.New(rand.NewPCG(seed, 1))
	p := make([]uint8, h*w*c)
	for i := range p {
		p[i] = uint8(r.IntN(256))
	}
	return p
}

func toFloat(p []uint8) []float32 {
	f := make([]float32, len(p))
	for i, v := range p {
		f[i] = float32(v)
	}
	return f
}

func toUint8(t *testing.T, f []float32) []uint8 {
	p := make([]uint8, len(f))
	for i, v := range f {
		if v != float32(math.Round(float64(v))) || v < 0 || v > 255 {
			t.Fatalf("value %v at %d is not an exact byte", v, i)
		}
		p[i] = uint8(v)
	}
	return p
}

func TestFlipTwiceIsIdentity(t *testing.T) {
	src := randomImage(7, 10, 3, 1)
	for _, tr := range []Transform{{FlipHorizontal: true}, {FlipVertical: true}, {FlipHorizontal: true, FlipVertical: true}} {
		tr.Zx, tr.Zy = 1, 1
		once := make([]float32, len(src))
		warp(once, src, 7, 10, 3, tr, fillNearest, 0)
		twice := make([]float32, len(src))
		warp(twice, toUint8(t, once), 7, 10, 3, tr, fillNearest, 0)
		for i := range src {
			if twice[i] != float32(src[i]) {
				t.Fatalf("%+v twice: pixel %d = %v, want %d", tr, i, twice[i], src[i])
			}
		}
		// And a flip really moves pixels: horizontal flip sends (r, c) to
		// (r, w−1−c).
		if tr.FlipHorizontal && !tr.FlipVertical {
			if once[(2*10+0)*3+1] != float32(src[(2*10+9)*3+1]) {
				t.Fatal("horizontal flip does not mirror columns")
			}
		}
	}
}

func TestZeroRangesAreIdentity(t *testing.T) {
	src := randomImage(9, 6, 3, 2)
	a := &Augment{} // all ranges zero, flips off
	rng := rand.New(rand.NewPCG(3, 4))
	for k := 0; k < 20; k++ {
		tr := a.Sample(rng, 9, 6)
		if tr != (Transform{Zx: 1, Zy: 1}) {
			t.Fatalf("zero ranges drew %+v", tr)
		}
		out := make([]float32, len(src))
		warp(out, src, 9, 6, 3, tr, fillConstant, 99)
		for i := range src {
			if out[i] != float32(src[i]) {
				t.Fatalf("identity changed pixel %d", i)
			}
		}
	}
	// Non-trivial but identity-valued parameters through the resampler:
	// a zoom of exactly 1 on one axis and a whole-pixel shift of 0.
	tr := Transform{Zx: 1, Zy: 1, Theta: 360}
	out := make([]float32, len(src))
	warp(out, src, 9, 6, 3, tr, fillNearest, 0)
	for i := range src {
		if math.Abs(float64(out[i])-float64(src[i])) > 1e-3 {
			t.Fatalf("rotation by 360° changed pixel %d: %v vs %d", i, out[i], src[i])
		}
	}
}

// TestAnalyticPixels checks known transforms on a linear ramp image, where
// bilinear interpolation is exact: value(row, col) = 10·row + col.
func TestAnalyticPixels(t *testing.T) {
	const h, w = 8, 8
	src := make([]uint8, h*w)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			src[r*w+c] = uint8(10*r + c)
		}
	}
	ramp := func(r, c float64) float64 { return 10*r + c }
	// Keras quirk: tx (height shift) moves along columns. Tx = 1.5 samples
	// input column c + 1.5; Ty = −2 samples input row r − 2.
	out := make([]float32, h*w)
	warp(out, src, h, w, 1, Transform{Tx: 1.5, Ty: -2, Zx: 1, Zy: 1}, fillConstant, -1)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			sr, sc := float64(r)-2, float64(c)+1.5
			want := ramp(sr, sc)
			if sr < 0 || sc > w-1 {
				want = -1
			}
			if got := float64(out[r*w+c]); math.Abs(got-want) > 1e-4 {
				t.Fatalf("shift: (%d,%d) = %v, want %v", r, c, got, want)
			}
		}
	}
	// Zoom zx = 0.5 (coordinate 0 = columns after the swap): input column =
	// 0.5·(c − 3.5) + 3.5, rows untouched.
	warp(out, src, h, w, 1, Transform{Zx: 0.5, Zy: 1}, fillNearest, 0)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			want := ramp(float64(r), 0.5*(float64(c)-3.5)+3.5)
			if got := float64(out[r*w+c]); math.Abs(got-want) > 1e-4 {
				t.Fatalf("zoom: (%d,%d) = %v, want %v", r, c, got, want)
			}
		}
	}
	// Rotation by 90° about the centre (3.5, 3.5): with Keras's matrix
	// [[0,−1],[1,0]] on (col, row): in_col = −(r − 3.5) + 3.5 = 7 − r,
	// in_row = c.
	warp(out, src, h, w, 1, Transform{Theta: 90, Zx: 1, Zy: 1}, fillNearest, 0)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			want := ramp(float64(c), float64(7-r))
			if got := float64(out[r*w+c]); math.Abs(got-want) > 1e-3 {
				t.Fatalf("rotate 90: (%d,%d) = %v, want %v", r, c, got, want)
			}
		}
	}
}

// TestMatricesByHand compares Transform.Matrix with matrices worked out by
// hand in Keras's convention for an h×w = 4×6 image, whose centre offset is
// o = (h/2 − 0.5, w/2 − 0.5) = (1.5, 2.5): M = T(o)·A·T(−o), so the
// translation column is o − A·o (+ A's own translation).
func TestMatricesByHand(t *testing.T) {
	s30, c30 := 0.5, math.Sqrt(3)/2
	cases := []struct {
		name string
		tr   Transform
		want mat3
	}{
		// Rotation 30°: A = [[c, −s], [s, c]];
		// t = o − A·o = (1.5 − (c·1.5 − s·2.5), 2.5 − (s·1.5 + c·2.5)).
		{"rotate30", Transform{Theta: 30, Zx: 1, Zy: 1}, mat3{
			{c30, -s30, 1.5 - (c30*1.5 - s30*2.5)},
			{s30, c30, 2.5 - (s30*1.5 + c30*2.5)}, {0, 0, 1}}},
		// Shift: the centring cancels, the shift stays.
		{"shift", Transform{Tx: 2, Ty: -3, Zx: 1, Zy: 1}, mat3{{1, 0, 2}, {0, 1, -3}, {0, 0, 1}}},
		// Shear 30°: A = [[1, −sin], [0, cos]]; t = (sin·2.5, 2.5 − cos·2.5).
		{"shear30", Transform{Shear: 30, Zx: 1, Zy: 1}, mat3{
			{1, -s30, s30 * 2.5}, {0, c30, 2.5 - c30*2.5}, {0, 0, 1}}},
		// Zoom: A = diag(zx, zy); t = (1.5(1 − zx), 2.5(1 − zy)).
		{"zoom", Transform{Zx: 0.8, Zy: 1.25}, mat3{{0.8, 0, 1.5 * 0.2}, {0, 1.25, 2.5 * -0.25}, {0, 0, 1}}},
		// Composition order R·S·Z: rotation 30°, shift (1, 0), zoom 2 on x:
		// A = R·diag(2,1) = [[2c, −s], [2s, c]], own translation R·(1,0) =
		// (c, s); t = (c, s) + o − A·o.
		{"compose", Transform{Theta: 30, Tx: 1, Zx: 2, Zy: 1}, mat3{
			{2 * c30, -s30, c30 + 1.5 - (2*c30*1.5 - s30*2.5)},
			{2 * s30, c30, s30 + 2.5 - (2*s30*1.5 + c30*2.5)}, {0, 0, 1}}},
	}
	for _, c := range cases {
		got, ok := c.tr.Matrix(4, 6)
		if !ok {
			t.Fatalf("%s: reported as identity", c.name)
		}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				if math.Abs(got[i][j]-c.want[i][j]) > 1e-12 {
					t.Fatalf("%s: M[%d][%d] = %v, want %v\n got %v\nwant %v", c.name, i, j, got[i][j], c.want[i][j], got, c.want)
				}
			}
		}
	}
	if _, ok := (Transform{Zx: 1, Zy: 1, FlipHorizontal: true}).Matrix(4, 6); ok {
		t.Fatal("flip-only transform must have no affine part")
	}
}

// TestSampleRanges checks the distributions Sample draws from.
func TestSampleRanges(t *testing.T) {
	a := &Augment{RotationRange: 40, WidthShiftRange: 0.2, HeightShiftRange: 7, ShearRange: 0.2, ZoomRange: 0.3, HorizontalFlip: true}
	rng := rand.New(rand.NewPCG(9, 9))
	const h, w = 150, 100
	flips, n := 0, 4000
	var zxSum, zySum, cov float64
	for k := 0; k < n; k++ {
		tr := a.Sample(rng, h, w)
		if math.Abs(tr.Theta) > 40 || math.Abs(tr.Ty) > 0.2*w || math.Abs(tr.Tx) > 7 || math.Abs(tr.Shear) > 0.2 {
			t.Fatalf("out of range: %+v", tr)
		}
		if tr.Zx < 0.7 || tr.Zx > 1.3 || tr.Zy < 0.7 || tr.Zy > 1.3 {
			t.Fatalf("zoom out of [0.7, 1.3]: %+v", tr)
		}
		if tr.FlipVertical {
			t.Fatal("vertical flip drawn while disabled")
		}
		if tr.FlipHorizontal {
			flips++
		}
		zxSum += tr.Zx
		zySum += tr.Zy
		cov += (tr.Zx - 1) * (tr.Zy - 1)
	}
	if p := float64(flips) / float64(n); p < 0.45 || p > 0.55 {
		t.Errorf("horizontal flip rate %.3f, want ≈ 0.5", p)
	}
	// Independent zx and zy: covariance ≈ 0 (variance of each is 0.03).
	if c := cov / float64(n); math.Abs(c) > 0.004 {
		t.Errorf("zx, zy covariance %.4f: not independent", c)
	}
	if math.Abs(zxSum/float64(n)-1) > 0.02 || math.Abs(zySum/float64(n)-1) > 0.02 {
		t.Errorf("zoom means %.3f %.3f, want ≈ 1", zxSum/float64(n), zySum/float64(n))
	}
}

// TestRescaleAfterPreprocess: Preprocess sees 0..255 values, Rescale is
// applied after it (Keras's standardize order).
func TestRescaleAfterPreprocess(t *testing.T) {
	dir, _ := makeTree(t)
	var seen float32 = -1
	d, err := FromDirectory(dir, Options{TargetSize: [2]int{4, 4}, BatchSize: 1, Log: discard{}, Workers: 1,
		Augment: &Augment{Rescale: 0.5},
		Preprocess: func(img []float32, h, w, c int) {
			if h != 4 || w != 4 || c != 3 {
				panic("bad shape")
			}
			if seen < 0 { // first call: image 0 (Workers 1 keeps dispatch order)
				seen = img[0]
			}
			img[0] += 10
		}})
	if err != nil {
		t.Fatal(err)
	}
	b := collect(t, d, 0)[0]
	if seen != 200 || b.X.Data[0] != (200+10)*0.5 {
		t.Fatalf("preprocess saw %v, output %v; want 200 and 105", seen, b.X.Data[0])
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
