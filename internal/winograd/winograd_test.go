package winograd

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// convRef64 is the direct float64 reference: y[b,y,x,co] = Σ_{kh,kw,ci}
// x[b, y+kh-1, x+kw-1, ci]·w[kh,kw,ci,co] + bias[co] (zero padding), then ReLU.
func convRef64(x []float32, n, h, w, cin int, kernel []float32, cout int, bias []float32, relu bool) []float64 {
	y := make([]float64, n*h*w*cout)
	acc := make([]float64, cout)
	for b := 0; b < n; b++ {
		for oy := 0; oy < h; oy++ {
			for ox := 0; ox < w; ox++ {
				for co := range acc {
					acc[co] = 0
					if bias != nil {
						acc[co] = float64(bias[co])
					}
				}
				for kh := 0; kh < 3; kh++ {
					iy := oy + kh - 1
					if iy < 0 || iy >= h {
						continue
					}
					for kw := 0; kw < 3; kw++ {
						ix := ox + kw - 1
						if ix < 0 || ix >= w {
							continue
						}
						xs := x[((b*h+iy)*w+ix)*cin:]
						for ci := 0; ci < cin; ci++ {
							xv := float64(xs[ci])
							if xv == 0 {
								continue
							}
							ws := kernel[((kh*3+kw)*cin+ci)*cout:]
							for co := 0; co < cout; co++ {
								acc[co] += xv * float64(ws[co])
							}
						}
					}
				}
				out := y[((b*h+oy)*w+ox)*cout:]
				for co, v := range acc {
					if relu && v < 0 {
						v = 0
					}
					out[co] = v
				}
			}
		}
	}
	return y
}

// backRef64 is the direct float64 transposed convolution, written from the
// definition dx[b,iy,ix,ci] = Σ over outputs (oy,ox) that read (iy,ix):
// dy[b,oy,ox,co]·w[iy-oy+1, ix-ox+1, ci, co].
func backRef64(dy []float32, n, h, w, cout int, kernel []float32, cin int) []float64 {
	dx := make([]float64, n*h*w*cin)
	for b := 0; b < n; b++ {
		for oy := 0; oy < h; oy++ {
			for ox := 0; ox < w; ox++ {
				g := dy[((b*h+oy)*w+ox)*cout:]
				for kh := 0; kh < 3; kh++ {
					iy := oy + kh - 1
					if iy < 0 || iy >= h {
						continue
					}
					for kw := 0; kw < 3; kw++ {
						ix := ox + kw - 1
						if ix < 0 || ix >= w {
							continue
						}
						d := dx[((b*h+iy)*w+ix)*cin:]
						for ci := 0; ci < cin; ci++ {
							ws := kernel[((kh*3+kw)*cin+ci)*cout:]
							s := 0.0
							for co := 0; co < cout; co++ {
								s += float64(g[co]) * float64(ws[co])
							}
							d[ci] += s
						}
					}
				}
			}
		}
	}
	return dx
}

// relErr is max|got-ref| / max|ref| (NaN in got counts as +Inf).
func relErr(got []float32, ref []float64) float64 {
	diff, scale := 0.0, 0.0
	for i, r := range ref {
		d := math.Abs(float64(got[i]) - r)
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		diff = math.Max(diff, d)
		scale = math.Max(scale, math.Abs(r))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

func randn(size int, std float64, rng *tensor.RNG) []float32 {
	s := make([]float32, size)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * std)
	}
	return s
}

// reluRandn draws max(0, N(0,1)), like post-ReLU activations.
func reluRandn(size int, rng *tensor.RNG) []float32 {
	s := randn(size, 1, rng)
	for i, v := range s {
		s[i] = max(v, 0)
	}
	return s
}

// heKernel draws a (3,3,cin,cout) kernel with Keras's he_normal.
func heKernel(cin, cout int, rng *tensor.RNG) []float32 {
	k := tensor.New(3, 3, cin, cout)
	tensor.HeNormal(k, rng)
	return k.Data
}

var variants = []Variant{F2, F4}

// TestForwardShapes covers edge shapes: odd sizes, sizes not multiples of the
// tile, 1x1 and 1xW images, channel counts off the 16-lane grid, batch > 1,
// bias nil or not, ReLU on and off, and several block sizes.
func TestForwardShapes(t *testing.T) {
	cases := []struct{ n, h, w, cin, cout int }{
		{1, 1, 1, 1, 1},
		{1, 1, 1, 16, 16},
		{2, 1, 7, 5, 3},
		{1, 7, 1, 17, 33},
		{3, 5, 7, 3, 64},
		{2, 9, 11, 16, 16},
		{1, 13, 6, 35, 20},
		{2, 8, 8, 32, 48},
		{1, 14, 14, 64, 17},
		{1, 23, 10, 19, 32},
	}
	rng := tensor.NewRNG(1)
	for _, c := range cases {
		x := reluRandn(c.n*c.h*c.w*c.cin, rng)
		k := heKernel(c.cin, c.cout, rng)
		bias := randn(c.cout, 0.5, rng)
		for _, withBias := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				b := bias
				if !withBias {
					b = nil
				}
				ref := convRef64(x, c.n, c.h, c.w, c.cin, k, c.cout, b, relu)
				for _, v := range variants {
					for _, bt := range []int{0, 1, 3} {
						name := fmt.Sprintf("%dx%dx%dx%d->%d/bias=%v/relu=%v/%v/T=%d", c.n, c.h, c.w, c.cin, c.cout, withBias, relu, v, bt)
						p := NewPlan(k, c.cin, c.cout, v)
						p.BlockTiles = bt
						y := make([]float32, c.n*c.h*c.w*c.cout)
						for i := range y {
							y[i] = float32(math.NaN()) // must be overwritten
						}
						p.Forward(x, c.n, c.h, c.w, b, relu, y)
						if e := relErr(y, ref); e > 1e-5 {
							t.Errorf("%s: relative error %.3g > 1e-5", name, e)
						}
						if relu {
							for i, v := range y {
								if v < 0 {
									t.Fatalf("%s: y[%d] = %g < 0 with ReLU", name, i, v)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestPackageForward checks the one-shot Forward (Default variant).
func TestPackageForward(t *testing.T) {
	rng := tensor.NewRNG(2)
	n, h, w, cin, cout := 2, 10, 9, 20, 24
	x := reluRandn(n*h*w*cin, rng)
	k := heKernel(cin, cout, rng)
	bias := randn(cout, 0.3, rng)
	y := make([]float32, n*h*w*cout)
	Forward(x, n, h, w, cin, k, cout, bias, true, y)
	if e := relErr(y, convRef64(x, n, h, w, cin, k, cout, bias, true)); e > 1e-5 {
		t.Errorf("relative error %.3g > 1e-5", e)
	}
}

// TestBackwardData compares against the transposed convolution written from
// its definition, and checks the adjoint identity <conv(x), dy> = <x, dx>.
func TestBackwardData(t *testing.T) {
	cases := []struct{ n, h, w, cin, cout int }{
		{1, 1, 1, 3, 5},
		{2, 5, 7, 3, 64},
		{1, 9, 11, 17, 16},
		{2, 8, 8, 32, 48},
		{1, 14, 13, 64, 33},
	}
	rng := tensor.NewRNG(3)
	for _, c := range cases {
		x := randn(c.n*c.h*c.w*c.cin, 1, rng)
		dy := randn(c.n*c.h*c.w*c.cout, 1, rng)
		k := heKernel(c.cin, c.cout, rng)
		ref := backRef64(dy, c.n, c.h, c.w, c.cout, k, c.cin)
		yRef := convRef64(x, c.n, c.h, c.w, c.cin, k, c.cout, nil, false)
		for _, v := range variants {
			name := fmt.Sprintf("%dx%dx%dx%d->%d/%v", c.n, c.h, c.w, c.cin, c.cout, v)
			p := NewPlan(k, c.cin, c.cout, v)
			dx := make([]float32, len(x))
			p.BackwardData(dy, c.n, c.h, c.w, dx)
			if e := relErr(dx, ref); e > 1e-5 {
				t.Errorf("%s: dx relative error %.3g > 1e-5", name, e)
			}
			// Adjoint: Σ y·dy = Σ x·dx.
			lhs, rhs, mag := 0.0, 0.0, 0.0
			for i := range yRef {
				lhs += yRef[i] * float64(dy[i])
				mag += math.Abs(yRef[i] * float64(dy[i]))
			}
			for i := range x {
				rhs += float64(x[i]) * float64(dx[i])
			}
			if math.Abs(lhs-rhs) > 1e-5*mag {
				t.Errorf("%s: <conv(x),dy> = %g but <x,dx> = %g", name, lhs, rhs)
			}
			// Forward after backward still uses the forward transform.
			y := make([]float32, len(dy))
			p.Forward(x, c.n, c.h, c.w, nil, false, y)
			if e := relErr(y, yRef); e > 1e-5 {
				t.Errorf("%s: forward after backward: relative error %.3g", name, e)
			}
		}
	}
}

// TestSetKernel checks that a plan follows new weights after SetKernel.
func TestSetKernel(t *testing.T) {
	rng := tensor.NewRNG(4)
	n, h, w, cin, cout := 1, 6, 6, 16, 16
	x := reluRandn(n*h*w*cin, rng)
	k1, k2 := heKernel(cin, cout, rng), heKernel(cin, cout, rng)
	p := NewPlan(k1, cin, cout, F4)
	y := make([]float32, n*h*w*cout)
	dx := make([]float32, len(x))
	p.Forward(x, n, h, w, nil, false, y)
	p.BackwardData(y, n, h, w, dx) // builds the backward transform for k1
	p.SetKernel(k2)
	p.Forward(x, n, h, w, nil, false, y)
	if e := relErr(y, convRef64(x, n, h, w, cin, k2, cout, nil, false)); e > 1e-5 {
		t.Errorf("forward after SetKernel: relative error %.3g", e)
	}
	dy := randn(len(y), 1, rng)
	p.BackwardData(dy, n, h, w, dx)
	if e := relErr(dx, backRef64(dy, n, h, w, cout, k2, cin)); e > 1e-5 {
		t.Errorf("backward after SetKernel: relative error %.3g", e)
	}
	// Release frees the transforms; the next calls rebuild them.
	if b := p.Bytes(); b < 4*2*36*cin*cout {
		t.Errorf("Bytes() = %d before Release, want at least the two transforms %d", b, 4*2*36*cin*cout)
	}
	p.Release()
	if b := p.Bytes(); b != 0 {
		t.Errorf("Bytes() = %d after Release", b)
	}
	p.BackwardData(dy, n, h, w, dx)
	if e := relErr(dx, backRef64(dy, n, h, w, cout, k2, cin)); e > 1e-5 {
		t.Errorf("backward after Release: relative error %.3g", e)
	}
	p.Forward(x, n, h, w, nil, false, y)
	if e := relErr(y, convRef64(x, n, h, w, cin, k2, cout, nil, false)); e > 1e-5 {
		t.Errorf("forward after Release: relative error %.3g", e)
	}
}

// TestNaNPropagates: a NaN input must not be hidden by ReLU or the transforms.
func TestNaNPropagates(t *testing.T) {
	n, h, w, c := 1, 8, 8, 16
	x := make([]float32, n*h*w*c)
	x[(3*w+3)*c+5] = float32(math.NaN())
	k := make([]float32, 9*c*c)
	for i := range k {
		k[i] = 1
	}
	for _, v := range variants {
		y := make([]float32, n*h*w*c)
		NewPlan(k, c, c, v).Forward(x, n, h, w, nil, true, y)
		if !math.IsNaN(float64(y[(3*w+3)*c])) {
			t.Errorf("%v: NaN input gave y = %g at its own pixel", v, y[(3*w+3)*c])
		}
	}
}

// TestZeroAllocs: after warm-up a Plan's Forward and BackwardData allocate
// nothing, on 2 workers (kept to GEMM shapes the Sgemm does serially).
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items)")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rng := tensor.NewRNG(5)
	n, h, w, cin, cout := 2, 16, 16, 32, 32
	x := reluRandn(n*h*w*cin, rng)
	k := heKernel(cin, cout, rng)
	bias := randn(cout, 1, rng)
	y := make([]float32, n*h*w*cout)
	dx := make([]float32, len(x))
	for _, v := range variants {
		p := NewPlan(k, cin, cout, v)
		p.BlockTiles = 16
		p.Forward(x, n, h, w, bias, true, y)
		p.BackwardData(y, n, h, w, dx)
		if a := testing.AllocsPerRun(5, func() { p.Forward(x, n, h, w, bias, true, y) }); a != 0 {
			t.Errorf("%v: Forward allocates %v times per call", v, a)
		}
		if a := testing.AllocsPerRun(5, func() { p.BackwardData(y, n, h, w, dx) }); a != 0 {
			t.Errorf("%v: BackwardData allocates %v times per call", v, a)
		}
		// A trainable layer: new weights every step, both transforms redone.
		step := func() {
			p.SetKernel(k)
			p.Forward(x, n, h, w, bias, true, y)
			p.BackwardData(y, n, h, w, dx)
		}
		if a := testing.AllocsPerRun(5, step); a != 0 {
			t.Errorf("%v: SetKernel+Forward+BackwardData allocates %v times per step", v, a)
		}
	}
}

// TestBadArgs: wrong lengths and variants panic with a message.
func TestBadArgs(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	k := make([]float32, 9*4*5)
	mustPanic("kernel length", func() { NewPlan(k[:10], 4, 5, F4) })
	mustPanic("variant", func() { NewPlan(k, 4, 5, Variant(3)) })
	p := NewPlan(k, 4, 5, F2)
	mustPanic("x length", func() { p.Forward(make([]float32, 7), 1, 2, 2, nil, false, make([]float32, 20)) })
	mustPanic("y length", func() { p.Forward(make([]float32, 16), 1, 2, 2, nil, false, make([]float32, 3)) })
	mustPanic("bias length", func() { p.Forward(make([]float32, 16), 1, 2, 2, make([]float32, 2), false, make([]float32, 20)) })
	mustPanic("dx length", func() { p.BackwardData(make([]float32, 20), 1, 2, 2, make([]float32, 3)) })
}

// TestChoose pins the variant choice on the VGG16 shapes the benchmarks measured.
func TestChoose(t *testing.T) {
	cases := []struct {
		n, hw  int
		want   Variant
		wantOK bool
	}{
		{1, 224, F4, true}, {16, 224, F4, true}, {1, 56, F4, true}, // 196 tiles with F4
		{1, 28, F4, true}, // F4: 49 tiles (413 vs 344 GFLOP/cpu-s for F2)
		{1, 14, F2, true}, // F4: 16 tiles, F2: 49
		{16, 14, F4, true}, {2, 28, F4, true},
		{1, 7, 0, false}, {1, 1, 0, false},
	}
	for _, c := range cases {
		v, ok := Choose(c.n, c.hw, c.hw, 512, 512)
		if v != c.want || ok != c.wantOK {
			t.Errorf("Choose(n=%d, %dx%d) = %v, %v; want %v, %v", c.n, c.hw, c.hw, v, ok, c.want, c.wantOK)
		}
	}
}
