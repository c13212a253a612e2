//go:build amd64 && !purego

package kernels

import (
	"slices"
	"testing"
)

// TestPackATMatchesGoTwin compares the transposed-A packing assembly with
// packATGo on random sizes, the source ending exactly at its last used
// float (masked loads must not need more) and the destination surrounded by
// guards.
func TestPackATMatchesGoTwin(t *testing.T) {
	rng := newRNG(t)
	for _, lv := range supported {
		if lv.packAT == nil {
			continue
		}
		for range 200 {
			mr := lv.mr
			rows := 1 + rng.IntN(mr)
			kc := rng.IntN(40)
			lda := rows + rng.IntN(20)
			src := randMatrix(rng, 1, max(kc-1, 0)*lda+rows)
			src = src[: max(kc-1, 0)*lda+rows : max(kc-1, 0)*lda+rows]
			const guard = 16
			want := randMatrix(rng, 1, kc*mr+2*guard)
			got := slices.Clone(want)
			packATGo(want[guard:guard+kc*mr], src, lda, kc, rows, mr)
			if kc > 0 {
				lv.packAT(&got[guard], &src[0], lda, kc, rows, mr)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: packAT(kc=%d rows=%d mr=%d lda=%d) differs from packATGo", lv.name, kc, rows, mr, lda)
			}
		}
	}
}

// TestKernelPMatchesRowMajorKernel runs each level's p-major micro-kernel
// and its row-major kernel on the same A micro-panel (laid out both ways)
// with every epilogue flag; the results must be bit-identical (same FMA
// order).
func TestKernelPMatchesRowMajorKernel(t *testing.T) {
	rng := newRNG(t)
	for _, lv := range supported {
		if lv.kernelP == nil {
			continue
		}
		for _, k := range []int{1, 3, 4, 7, 64, 333} {
			for flags := range 4 {
				mr, nr := lv.mr, lv.nr
				aRow := randMatrix(rng, mr, k)
				aP := make([]float32, mr*k)
				for i := range mr {
					for p := range k {
						aP[p*mr+i] = aRow[i*k+p]
					}
				}
				b := randMatrix(rng, k, nr)
				bias := randMatrix(rng, 1, nr)
				ldc := nr + 3
				c0 := randMatrix(rng, mr, ldc)
				want, got := slices.Clone(c0), slices.Clone(c0)
				var pf [3]prefetchPlan
				lv.kernel(k, &aRow[0], k, &b[0], &want[0], ldc, -0.5, &bias[0], flags, &pf)
				lv.kernelP(k, &aP[0], 12345, &b[0], &got[0], ldc, -0.5, &bias[0], flags, &pf)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: kernelP differs from kernel (k=%d flags=%d)", lv.name, k, flags)
				}
			}
		}
	}
}
