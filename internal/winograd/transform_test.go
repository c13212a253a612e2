package winograd

import (
	"math"
	"testing"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// closeTo reports max|a-b| / max(1, max|b|); FMA in the assembly rounds
// differently from the separate multiply and add of the Go twins.
func closeTo(a, b []float32) float64 {
	d, _ := tensor.MaxAbsDiff(a, b)
	return d / math.Max(1, tensor.MaxAbs(b))
}

// asmLevels returns the kernel levels of this CPU and build whose Winograd
// transforms are assembly (asmWidth() > 0), skipping the test when none is.
// The caller restores the level with the returned function.
func asmLevels(t *testing.T) (names []string, restore func()) {
	prev := kernels.Level()
	for _, name := range kernels.Levels() {
		if err := kernels.SetLevel(name); err != nil {
			t.Fatal(err)
		}
		if asmWidth() > 0 {
			names = append(names, name)
		}
	}
	if err := kernels.SetLevel(prev); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Skipf("levels %v: no assembly transforms in this build or on this CPU", kernels.Levels())
	}
	return names, func() { kernels.SetLevel(prev) }
}

// TestTransformsAsmMatchGo runs each transform dispatcher (assembly on the
// multiple-of-width head, Go twin on the tail) against the pure-Go twin on
// all channels, on random data with padded strides, on every assembly
// level (avx512: zmm, avx2: ymm) and for every channel count 1..33 (every
// tail length of both widths) and 48, and checks that nothing is written
// outside the slots.
func TestTransformsAsmMatchGo(t *testing.T) {
	levels, restore := asmLevels(t)
	defer restore()
	rng := tensor.NewRNG(7)
	var ncs []int
	for nc := 1; nc <= 33; nc++ {
		ncs = append(ncs, nc)
	}
	ncs = append(ncs, 48)
	for _, level := range levels {
		if err := kernels.SetLevel(level); err != nil {
			t.Fatal(err)
		}
		for _, nc := range ncs {
			for _, m := range []int{2, 4} {
				alpha := m + 2
				colStride := nc + 16 // padded, so stray writes land in checked gaps
				rowStride := alpha*colStride + 32
				posStride := nc + 32

				// Input transform.
				src := randn(alpha*rowStride, 1, rng)
				want := make([]float32, alpha*alpha*posStride)
				got := make([]float32, len(want))
				for i := range got {
					got[i], want[i] = -7, -7
				}
				if m == 2 {
					inputF2Go(src, rowStride, colStride, want, posStride, 0, nc)
				} else {
					inputF4Go(src, rowStride, colStride, want, posStride, 0, nc)
				}
				inputTransform(m)(src, rowStride, colStride, got, posStride, nc)
				if e := closeTo(got, want); e > 1e-6 {
					t.Errorf("%s: input F%d nc=%d: asm differs from Go by %.3g", level, m, nc, e)
				}

				// Output transform, with and without ReLU.
				msrc := randn(alpha*alpha*posStride, 1, rng)
				bias := randn(nc, 1, rng)
				for _, relu := range []bool{false, true} {
					want := make([]float32, m*rowStride)
					got := make([]float32, len(want))
					for i := range got {
						got[i], want[i] = -7, -7
					}
					if m == 2 {
						outputF2Go(msrc, posStride, want, rowStride, colStride, 0, nc, bias, relu)
					} else {
						outputF4Go(msrc, posStride, want, rowStride, colStride, 0, nc, bias, relu)
					}
					outputTransform(m)(msrc, posStride, got, rowStride, colStride, nc, bias, relu)
					if e := closeTo(got, want); e > 1e-6 {
						t.Errorf("%s: output F%d nc=%d relu=%v: asm differs from Go by %.3g", level, m, nc, relu, e)
					}
				}
			}
		}
	}
}

// TestTransformsMatchMatrices checks the factorised Go transforms against
// the plain matrix products Bᵀ d B and Aᵀ M A in float64.
func TestTransformsMatchMatrices(t *testing.T) {
	bt2 := [][]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	at2 := [][]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
	bt4m := [][]float64{
		{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}}
	at4m := [][]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}
	// sandwich returns L X Rᵀ for X (len(R[0]) square).
	sandwich := func(l [][]float64, x [][]float64) [][]float64 {
		r := make([][]float64, len(l))
		for i := range l {
			r[i] = make([]float64, len(l))
			for j := range l {
				for p := range x {
					for q := range x {
						r[i][j] += l[i][p] * x[p][q] * l[j][q]
					}
				}
			}
		}
		return r
	}
	rng := tensor.NewRNG(8)
	for _, m := range []int{2, 4} {
		alpha := m + 2
		bt, at := bt2, at2
		if m == 4 {
			bt, at = bt4m, at4m
		}
		d := randn(alpha*alpha, 1, rng)
		v := make([]float32, alpha*alpha)
		if m == 2 {
			inputF2Go(d, alpha, 1, v, 1, 0, 1)
		} else {
			inputF4Go(d, alpha, 1, v, 1, 0, 1)
		}
		x := make([][]float64, alpha)
		for i := range x {
			x[i] = make([]float64, alpha)
			for j := range x[i] {
				x[i][j] = float64(d[i*alpha+j])
			}
		}
		want := sandwich(bt, x)
		for i := range want {
			for j := range want[i] {
				if math.Abs(float64(v[i*alpha+j])-want[i][j]) > 1e-4 {
					t.Errorf("F%d input V[%d][%d] = %g, want %g", m, i, j, v[i*alpha+j], want[i][j])
				}
			}
		}
		y := make([]float32, m*m)
		if m == 2 {
			outputF2Go(d, 1, y, m, 1, 0, 1, []float32{0}, false)
		} else {
			outputF4Go(d, 1, y, m, 1, 0, 1, []float32{0}, false)
		}
		wantY := sandwich(at, x)
		for i := range wantY {
			for j := range wantY[i] {
				if math.Abs(float64(y[i*m+j])-wantY[i][j]) > 1e-4 {
					t.Errorf("F%d output y[%d][%d] = %g, want %g", m, i, j, y[i*m+j], wantY[i][j])
				}
			}
		}
	}
}

// TestComb3AsmMatchesGo compares the kernel-transform inner loop (assembly
// head, Go tail) with comb3Go on every assembly level and length 1..40, 512.
func TestComb3AsmMatchesGo(t *testing.T) {
	levels, restore := asmLevels(t)
	defer restore()
	rng := tensor.NewRNG(9)
	var ns []int
	for n := 1; n <= 40; n++ {
		ns = append(ns, n)
	}
	ns = append(ns, 512)
	for _, level := range levels {
		if err := kernels.SetLevel(level); err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			a, b, c := randn(n, 1, rng), randn(n, 1, rng), randn(n, 1, rng)
			want := make([]float32, n+16)
			got := make([]float32, n+16)
			comb3Go(want[:n], a, b, c, 0.25, -1.0/6, 1.0/24)
			comb3(got[:n], a, b, c, 0.25, -1.0/6, 1.0/24)
			if e := closeTo(got, want); e > 1e-6 {
				t.Errorf("%s: n=%d: asm differs from Go by %.3g", level, n, e)
			}
		}
	}
}

// TestAsmFollowsKernelLevel: the zmm assembly transforms run exactly on the
// kernels' avx512 level and the ymm ones on avx2, whichever level
// kernels.SetLevel (or GOTRANSFER_KERNELS) picks; a purego build has only
// generic.
func TestAsmFollowsKernelLevel(t *testing.T) {
	prev := kernels.Level()
	defer kernels.SetLevel(prev)
	for _, name := range kernels.Levels() {
		if err := kernels.SetLevel(name); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"avx512": 16, "avx2": 8}[name]
		if got := asmWidth(); got != want {
			t.Errorf("kernel level %s: asmWidth() = %d, want %d", name, got, want)
		}
	}
}
