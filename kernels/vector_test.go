package kernels

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

var vecLengths = []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257, 1000, 4099, vecChunk + 13}

// edgeValues replaces some entries with the values ReLU must get right.
func edgeValues(x []float32) {
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -1e-30, 1e-30}
	for i := 0; i < len(x); i += 3 {
		x[i] = special[(i/3)%len(special)]
	}
}

// sameBits reports whether a and b hold identical values (NaN equal to NaN,
// +0 different from -0).
func sameBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

// closeVec compares a kernel's output with the pure-Go twin's: they may
// differ only by the rounding of a fused multiply-add, at most about one ulp
// of mag[i], the magnitude of the operands.
func closeVec(t *testing.T, name string, got, want []float32, mag []float64) {
	t.Helper()
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) != math.IsNaN(g) || math.Abs(g-w) > 2.4e-7*mag[i]+1e-37 {
			t.Errorf("%s: [%d] = %g, pure Go twin gives %g", name, i, got[i], want[i])
			return
		}
	}
}

// TestVectorKernelsMatchGoTwins checks every level's small kernels (through
// the exported functions) against the pure-Go twins.
func TestVectorKernelsMatchGoTwins(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for _, n := range vecLengths {
			name := fmt.Sprintf("%s n=%d", Level(), n)
			x, y := randMatrix(rng, 1, n)[:n], randMatrix(rng, 1, n)[:n]

			got, want := slices.Clone(y), slices.Clone(y)
			Axpy(-0.75, x, got)
			axpyGo(-0.75, x, want)
			mag := make([]float64, n)
			for i := range mag {
				mag[i] = math.Abs(float64(y[i])) + 0.75*math.Abs(float64(x[i]))
			}
			closeVec(t, name+" Axpy", got, want, mag)

			got, want = slices.Clone(x), slices.Clone(x)
			Scale(3.5, got)
			scaleGo(3.5, want)
			for i := range mag {
				mag[i] = 3.5 * math.Abs(float64(x[i]))
			}
			closeVec(t, name+" Scale", got, want, mag)

			// ReLU: exact, including NaN → 0 and -0 → +0.
			e := slices.Clone(x)
			edgeValues(e)
			got, want = make([]float32, n), make([]float32, n)
			Relu(got, e)
			reluGo(want, e)
			if !sameBits(got, want) {
				t.Errorf("%s Relu: %v, pure Go twin gives %v", name, got, want)
			}
			inplace := slices.Clone(e)
			Relu(inplace, inplace)
			if !sameBits(inplace, want) {
				t.Errorf("%s Relu in place differs", name)
			}

			got, want = make([]float32, n), make([]float32, n)
			ReluBackward(got, y, e)
			reluBackwardGo(want, y, e)
			if !sameBits(got, want) {
				t.Errorf("%s ReluBackward: %v, pure Go twin gives %v", name, got, want)
			}

			// ReLU bit masks: the same bits as the Go twin (stale words
			// overwritten), and masking dy by them is ReluBackward exactly.
			mask, wantMask := make([]uint16, (n+15)/16), make([]uint16, (n+15)/16)
			for i := range mask {
				mask[i] = 0xa5a5
			}
			ReluMask(mask, e)
			reluMaskGo(wantMask, e)
			if !slices.Equal(mask, wantMask) {
				t.Errorf("%s ReluMask: %x, pure Go twin gives %x", name, mask, wantMask)
			}
			got, want = slices.Clone(x), make([]float32, n)
			ReluBackwardMask(got, y, mask)
			reluBackwardMaskGo(want, y, mask)
			if !sameBits(got, want) {
				t.Errorf("%s ReluBackwardMask differs from the pure Go twin", name)
			}
			reluBackwardGo(want, y, e)
			if !sameBits(got, want) {
				t.Errorf("%s ReluBackwardMask(dy, ReluMask(y)) differs from ReluBackward(dy, y)", name)
			}
			inplace = slices.Clone(y)
			ReluBackwardMask(inplace, inplace, mask)
			if !sameBits(inplace, want) {
				t.Errorf("%s ReluBackwardMask in place differs", name)
			}

			// Sum and Dot: same value up to float32 reassociation.
			var sa, da float64
			for i := range x {
				sa += math.Abs(float64(x[i]))
				da += math.Abs(float64(x[i]) * float64(y[i]))
			}
			if g, w := float64(Sum(x)), float64(sumGo(x)); math.Abs(g-w) > float64(n+1)*1.2e-7*sa {
				t.Errorf("%s Sum = %g, pure Go twin gives %g", name, g, w)
			}
			if g, w := float64(Dot(x, y)), float64(dotGo(x, y)); math.Abs(g-w) > float64(n+1)*1.2e-7*da {
				t.Errorf("%s Dot = %g, pure Go twin gives %g", name, g, w)
			}
			var exact float64
			for i := range x {
				exact += float64(x[i]) * float64(y[i])
			}
			if g := float64(Dot(x, y)); math.Abs(g-exact) > float64(n+1)*1.2e-7*da {
				t.Errorf("%s Dot = %g, float64 reference %g", name, g, exact)
			}

			// AddBias over rows of every width that divides into n.
			for _, cols := range []int{1, 3, 8, 17} {
				if n%cols != 0 || cols > n {
					continue
				}
				bias := x[:cols]
				got, want = slices.Clone(y), slices.Clone(y)
				AddBias(got, bias)
				for r := 0; r < n; r += cols {
					addGo(want[r:r+cols], bias)
				}
				if !sameBits(got, want) {
					t.Errorf("%s AddBias cols=%d differs from the pure Go twin", name, cols)
				}
				for i := range want { // and from the definition
					if want[i] != y[i]+bias[i%cols] {
						t.Fatalf("%s addGo wrong at %d", name, i)
					}
				}
			}
		}
	})
}

// TestVectorGoTwinsDefinition pins the pure-Go twins to their definitions on
// hand-written values.
func TestVectorGoTwinsDefinition(t *testing.T) {
	nan := float32(math.NaN())
	dst := make([]float32, 5)
	reluGo(dst, []float32{-2, 0, 3, nan, -0.5})
	if !slices.Equal(dst, []float32{0, 0, 3, 0, 0}) {
		t.Errorf("reluGo = %v", dst)
	}
	reluBackwardGo(dst, []float32{1, 2, 3, 4, 5}, []float32{-1, 0, 2, nan, 7})
	if !slices.Equal(dst, []float32{0, 0, 3, 0, 5}) {
		t.Errorf("reluBackwardGo = %v", dst)
	}
	// 18 values: bits 0..15 in word 0, 16..17 in word 1 (the rest 0).
	vals := []float32{1, -1, 0, nan, 2, 3, -0.0, 1e-30, -5, 6, 7, 8, 0, 0, 0, 9, 4, -4}
	mask := make([]uint16, 2)
	reluMaskGo(mask, vals)
	if mask[0] != 0b1000_1110_1011_0001 || mask[1] != 0b01 {
		t.Errorf("reluMaskGo = %016b %016b", mask[0], mask[1])
	}
	dx := make([]float32, 18)
	reluBackwardMaskGo(dx, vals, mask)
	for i, v := range dx {
		if want := float32(0); vals[i] > 0 && v != vals[i] || !(vals[i] > 0) && v != want {
			t.Errorf("reluBackwardMaskGo[%d] = %v for y = %v", i, v, vals[i])
		}
	}
	y := []float32{1, 2, 3}
	axpyGo(2, []float32{1, 1, -1}, y)
	if !slices.Equal(y, []float32{3, 4, 1}) {
		t.Errorf("axpyGo = %v", y)
	}
	if s := sumGo([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}); s != 66 {
		t.Errorf("sumGo = %v", s)
	}
	if d := dotGo([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, []float32{1, 1, 1, 1, 1, 1, 1, 1, 2}); d != 54 {
		t.Errorf("dotGo = %v", d)
	}
}

func TestVectorPanicsOnLengthMismatch(t *testing.T) {
	for name, f := range map[string]func(){
		"Axpy":         func() { Axpy(1, make([]float32, 3), make([]float32, 4)) },
		"Dot":          func() { Dot(make([]float32, 3), make([]float32, 2)) },
		"Relu":         func() { Relu(make([]float32, 3), make([]float32, 2)) },
		"ReluBackward": func() { ReluBackward(make([]float32, 3), make([]float32, 3), make([]float32, 2)) },
		"AddBias":      func() { AddBias(make([]float32, 7), make([]float32, 2)) },
		"ReluMask":     func() { ReluMask(make([]uint16, 1), make([]float32, 17)) },
		"ReluBackwardMask": func() {
			ReluBackwardMask(make([]float32, 17), make([]float32, 17), make([]uint16, 1))
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on mismatched lengths", name)
				}
			}()
			f()
		}()
	}
}
