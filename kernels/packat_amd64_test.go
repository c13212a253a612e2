//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
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
// and its row-major kernel on the same A micro-panel (laid out both ways,
// p-major both packed and with a longer stride between k steps)
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
				var aux kernelAux
				lv.kernel(k, &aRow[0], k, &b[0], &want[0], ldc, -0.5, &bias[0], flags, &aux)
				lv.kernelP(k, &aP[0], mr, &b[0], &got[0], ldc, -0.5, &bias[0], flags, &aux)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: kernelP differs from kernel (k=%d flags=%d)", lv.name, k, flags)
				}
				// the same p-major panel with its k steps ldp > MR floats apart
				// (a transposed A read in place)
				ldp := mr + 1 + k%7
				aS := randMatrix(rng, k, ldp)
				for i := range mr {
					for p := range k {
						aS[p*ldp+i] = aRow[i*k+p]
					}
				}
				strided := slices.Clone(c0)
				lv.kernelP(k, &aS[0], ldp, &b[0], &strided[0], ldc, -0.5, &bias[0], flags, &aux)
				if !slices.Equal(strided, want) {
					t.Fatalf("%s: kernelP with lda %d differs from kernel (k=%d flags=%d)", lv.name, ldp, k, flags)
				}
			}
		}
	}
}

// microKernelTwin is the pure-Go twin of every micro-kernel for any MR×NR,
// with A and B read through at(i, p) and bt(p, j): the same epilogue as
// microKernel (beta·C when flags&flagBeta, + bias, ReLU when flags&flagReLU).
func microKernelTwin(mr, nr, k int, at func(i, p int) float32, bt func(p, j int) float32, c []float32, ldc int, beta float32, bias []float32, flags int) {
	for i := range mr {
		for j := range nr {
			var acc float32
			for p := range k {
				acc += at(i, p) * bt(p, j)
			}
			if flags&flagBeta != 0 {
				acc += beta * c[i*ldc+j]
			}
			if bias != nil {
				acc += bias[j]
			}
			if flags&flagReLU != 0 && !(acc > 0) {
				acc = 0
			}
			c[i*ldc+j] = acc
		}
	}
}

// checkTileClose fails unless got, a kernel's C tile (mr×nr, row stride
// ldc), is within float32 rounding of want, its Go twin's: (k+4)·2⁻²³ of
// Σ_p |prod(i, j, p)| + |beta·c0| + |bias|, and holds c0's values (the
// starting C) outside the tile.
func checkTileClose(t *testing.T, name string, got, want, c0 []float32, mr, nr, ldc, k int, beta float32, bias []float32, prod func(i, j, p int) float32) {
	t.Helper()
	for i := range mr {
		for j := range nr {
			mag := math.Abs(float64(beta * c0[i*ldc+j]))
			for p := range k {
				mag += math.Abs(float64(prod(i, j, p)))
			}
			if bias != nil {
				mag += math.Abs(float64(bias[j]))
			}
			tol := float64(k+4) * 1.2e-7 * mag
			if d := math.Abs(float64(got[i*ldc+j] - want[i*ldc+j])); !(d <= tol) {
				t.Fatalf("%s: C[%d,%d] = %g, Go twin %g", name, i, j, got[i*ldc+j], want[i*ldc+j])
			}
		}
	}
	for idx := range got {
		if idx%ldc >= nr && got[idx] != c0[idx] {
			t.Fatalf("%s wrote outside the tile at %d", name, idx)
		}
	}
}

// microKernelPGo is the twin of the "P" micro-kernels: A p-major
// (a[p*mr+i]), B a k×nr micro-panel.
func microKernelPGo(mr, nr, k int, a, b, c []float32, ldc int, beta float32, bias []float32, flags int) {
	microKernelTwin(mr, nr, k, func(i, p int) float32 { return a[p*mr+i] }, func(p, j int) float32 { return b[p*nr+j] },
		c, ldc, beta, bias, flags)
}

// TestKernelPMatchesGoTwin compares each P micro-kernel with
// microKernelPGo within float32 rounding ((k+4)·2⁻²³ of Σ|a·b| + |beta·c| +
// |bias|), with and without bias, beta and ReLU.
func TestKernelPMatchesGoTwin(t *testing.T) {
	rng := newRNG(t)
	for _, lv := range supported {
		if lv.kernelP == nil {
			continue
		}
		mr, nr := lv.mr, lv.nr
		for _, k := range []int{1, 2, 5, 8, 100, 577} {
			for flags := range 4 {
				for _, withBias := range []bool{false, true} {
					a, b := randMatrix(rng, k, mr), randMatrix(rng, k, nr)
					ldc := nr + 5
					c0 := randMatrix(rng, mr, ldc)
					var bias []float32
					var biasp *float32
					if withBias {
						bias = randMatrix(rng, 1, nr)
						biasp = &bias[0]
					}
					want, got := slices.Clone(c0), slices.Clone(c0)
					microKernelPGo(mr, nr, k, a, b, want, ldc, 2, bias, flags)
					var aux kernelAux
					lv.kernelP(k, &a[0], mr, &b[0], &got[0], ldc, 2, biasp, flags, &aux)
					checkTileClose(t, fmt.Sprintf("%s P kernel k=%d flags=%d bias=%v", lv.name, k, flags, withBias),
						got, want, c0, mr, nr, ldc, k, 2, bias, func(i, j, p int) float32 { return a[p*mr+i] * b[p*nr+j] })
				}
			}
		}
	}
}

// TestPackBTMatchesGoTwin compares the transposed-B panel packing assembly
// with packBTGo on random sizes (kc from 0, 1..3 panels, ldb ≥ kc), the
// source ending exactly at its last used float and the destination
// surrounded by guards.
func TestPackBTMatchesGoTwin(t *testing.T) {
	rng := newRNG(t)
	for _, lv := range supported {
		if lv.packBT == nil {
			continue
		}
		for range 200 {
			nr := lv.nr
			panels := 1 + rng.IntN(3)
			kc := rng.IntN(40)
			if rng.IntN(4) == 0 {
				kc = 576
			}
			ldb := kc + rng.IntN(20)
			n := (panels*nr-1)*ldb + kc
			src := randMatrix(rng, 1, max(n, 1))
			src = src[:n:n]
			const guard = 16
			want := randMatrix(rng, 1, panels*kc*nr+2*guard)
			got := slices.Clone(want)
			packBTGo(want[guard:guard+panels*kc*nr], src, ldb, kc, panels, nr)
			if kc > 0 {
				lv.packBT(&got[guard], &src[0], ldb, kc, panels)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: packBT(kc=%d panels=%d ldb=%d) differs from packBTGo", lv.name, kc, panels, ldb)
			}
		}
	}
}

// microKernelDBGo is the twin of the "DB" micro-kernel: A row-major
// (a[i*lda+p]), B read in place (b[p*ldb+j]).
func microKernelDBGo(mr, nr, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, beta float32, bias []float32, flags int) {
	microKernelTwin(mr, nr, k, func(i, p int) float32 { return a[i*lda+p] }, func(p, j int) float32 { return b[p*ldb+j] },
		c, ldc, beta, bias, flags)
}

// TestKernelDBMatchesGoTwinAndPacked runs each in-place-B micro-kernel on a
// B with a random row stride (the source ending exactly at the tile's last
// float), with every epilogue flag, with and without bias. It must be
// bit-identical to the packed kernel on the same B packed (same FMA order)
// and within float32 rounding ((k+4)·2⁻²³ of Σ|a·b| + |beta·c| + |bias|) of
// microKernelDBGo, and write nothing outside the tile.
func TestKernelDBMatchesGoTwinAndPacked(t *testing.T) {
	rng := newRNG(t)
	for _, lv := range supported {
		if lv.kernelDB == nil {
			continue
		}
		mr, nr := lv.mr, lv.nr
		for _, k := range []int{1, 2, 3, 4, 5, 8, 9, 100, 577} {
			for flags := range 4 {
				for _, withBias := range []bool{false, true} {
					lda := k + rng.IntN(9)
					ldb := nr + rng.IntN(40)
					a := randMatrix(rng, mr, lda)
					n := (k-1)*ldb + nr
					b := randMatrix(rng, 1, n)[:n:n]
					packed := make([]float32, k*nr)
					for p := range k {
						copy(packed[p*nr:p*nr+nr], b[p*ldb:])
					}
					ldc := nr + 5
					c0 := randMatrix(rng, mr, ldc)
					var bias []float32
					var biasp *float32
					if withBias {
						bias = randMatrix(rng, 1, nr)
						biasp = &bias[0]
					}
					want, got, same := slices.Clone(c0), slices.Clone(c0), slices.Clone(c0)
					microKernelDBGo(mr, nr, k, a, lda, b, ldb, want, ldc, -0.5, bias, flags)
					var aux kernelAux
					lv.kernelDB(k, &a[0], lda, &b[0], &got[0], ldc, -0.5, biasp, flags, &aux, ldb)
					lv.kernel(k, &a[0], lda, &packed[0], &same[0], ldc, -0.5, biasp, flags, &aux)
					if !slices.Equal(got, same) {
						t.Fatalf("%s DB kernel k=%d ldb=%d flags=%d bias=%v differs from the packed kernel", lv.name, k, ldb, flags, withBias)
					}
					if lv.kernelPDB != nil { // p-major A, B in place: the same FMAs again
						aP := make([]float32, mr*k)
						for i := range mr {
							for p := range k {
								aP[p*mr+i] = a[i*lda+p]
							}
						}
						pdb := slices.Clone(c0)
						lv.kernelPDB(k, &aP[0], mr, &b[0], &pdb[0], ldc, -0.5, biasp, flags, &aux, ldb)
						if !slices.Equal(pdb, same) {
							t.Fatalf("%s PDB kernel k=%d ldb=%d flags=%d bias=%v differs from the packed kernel", lv.name, k, ldb, flags, withBias)
						}
					}
					checkTileClose(t, fmt.Sprintf("%s DB kernel k=%d flags=%d bias=%v", lv.name, k, flags, withBias),
						got, want, c0, mr, nr, ldc, k, -0.5, bias, func(i, j, p int) float32 { return a[i*lda+p] * b[p*ldb+j] })
				}
			}
		}
	}
}

// TestKernelMaskBits runs every micro-kernel of the levels that honour
// flagMask (row-major, p-major and in-place-B) with ReLU and the mask flag:
// each row's NR/16 words at aux.mask + i·aux.ldm must hold C > 0 bit for
// bit, and the words between rows must stay untouched.
func TestKernelMaskBits(t *testing.T) {
	rng := newRNG(t)
	for _, lv := range supported {
		if !lv.maskInKernel {
			continue
		}
		mr, nr := lv.mr, lv.nr
		for _, k := range []int{1, 5, 64} {
			a := randMatrix(rng, mr, k)
			aP := make([]float32, mr*k)
			for i := range mr {
				for p := range k {
					aP[p*mr+i] = a[i*k+p]
				}
			}
			b := randMatrix(rng, k, nr)
			bias := randMatrix(rng, 1, nr)
			for variant, run := range []func(c []float32, aux *kernelAux){
				func(c []float32, aux *kernelAux) {
					lv.kernel(k, &a[0], k, &b[0], &c[0], nr, 0, &bias[0], flagReLU|flagMask, aux)
				},
				func(c []float32, aux *kernelAux) {
					lv.kernelP(k, &aP[0], mr, &b[0], &c[0], nr, 0, &bias[0], flagReLU|flagMask, aux)
				},
				func(c []float32, aux *kernelAux) {
					lv.kernelDB(k, &a[0], k, &b[0], &c[0], nr, 0, &bias[0], flagReLU|flagMask, aux, nr)
				},
				func(c []float32, aux *kernelAux) {
					lv.kernelPDB(k, &aP[0], mr, &b[0], &c[0], nr, 0, &bias[0], flagReLU|flagMask, aux, nr)
				},
			} {
				words := nr / 16
				const ldmWords = 7 // words between row starts: a gap after each row's words
				mask := make([]uint16, mr*ldmWords)
				for i := range mask {
					mask[i] = 0x5a5a
				}
				c := make([]float32, mr*nr)
				aux := kernelAux{mask: &mask[0], ldm: ldmWords * 2}
				run(c, &aux)
				for i := range mr {
					for w := range ldmWords {
						got := mask[i*ldmWords+w]
						if w >= words {
							if got != 0x5a5a {
								t.Fatalf("%s variant %d k=%d: word %d of row %d (past the tile) overwritten", lv.name, variant, k, w, i)
							}
							continue
						}
						for bit := range 16 {
							if v := c[i*nr+w*16+bit]; (got>>bit&1 != 0) != (v > 0) {
								t.Fatalf("%s variant %d k=%d: mask bit (%d, %d) = %d for C = %g", lv.name, variant, k, i, w*16+bit, got>>bit&1, v)
							}
						}
					}
				}
			}
		}
	}
}
