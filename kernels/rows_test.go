package kernels

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"
)

// virtualA is an m×k matrix served through a RowSource, like im2col
// patches; it counts calls and flags any out-of-range request.
type virtualA struct {
	m, k  int
	data  []float32
	calls atomic.Int64
	bad   atomic.Bool
}

func (v *virtualA) rows(dst []float32, i, p0, kc int) {
	v.calls.Add(1)
	if i < 0 || i >= v.m || p0 < 0 || kc <= 0 || p0+kc > v.k || len(dst) != kc {
		v.bad.Store(true)
		return
	}
	copy(dst, v.data[i*v.k+p0:i*v.k+p0+kc])
}

// rowsReference returns A·B (+ bias, ReLU) or alpha·A·B + beta·C in float64
// with the per-element error magnitude.
func rowsReference(m, n, k int, alpha float32, a, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) (want, mag []float64) {
	want, mag = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, sa float64
			for p := range k {
				x := float64(a[i*k+p]) * float64(b[p*ldb+j])
				s += x
				sa += math.Abs(x)
			}
			v, mg := float64(alpha)*s, math.Abs(float64(alpha))*sa
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
				mg += math.Abs(float64(beta) * float64(c[i*ldc+j]))
			}
			if bias != nil {
				v += float64(bias[j])
				mg += math.Abs(float64(bias[j]))
			}
			if relu && v < 0 {
				v = 0 // a tiny negative float32 result may still come out as 0: within tolerance
			}
			want[i*n+j], mag[i*n+j] = v, mg
		}
	}
	return want, mag
}

var rowsShapes = [][3]int{
	{1, 1, 1}, {13, 31, 7}, {14, 32, 16}, {15, 33, 17}, {29, 64, 577}, {97, 70, 33},
	{200, 64, 576}, {301, 130, 1200}, {60, 513, 40},
}

func TestSgemmRows(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for idx, s := range rowsShapes {
			m, n, k := s[0], s[1], s[2]
			alpha, beta := scalars[idx%4], scalars[(idx/2)%4]
			if alpha == 0 {
				alpha = 2
			}
			va := &virtualA{m: m, k: k, data: randMatrix(rng, m, k)}
			ldb, ldc := n+idx%3, n+(idx+1)%3
			b := randMatrix(rng, k, ldb)
			g := &gemmCase{m: m, n: n, ldc: ldc, guard: 19}
			g.c = make([]float32, 2*g.guard+m*ldc)
			for i := range g.c {
				g.c[i] = guardValue
			}
			cv := randMatrix(rng, m, ldc)
			for i := range m {
				copy(g.c[g.guard+i*ldc:g.guard+i*ldc+n], cv[i*ldc:])
			}
			got := slices.Clone(g.c)
			SgemmRows(m, n, k, alpha, va.rows, b, ldb, beta, g.cview(got), ldc)
			name := fmt.Sprintf("%s SgemmRows m=%d n=%d k=%d alpha=%v beta=%v", Level(), m, n, k, alpha, beta)
			if va.bad.Load() {
				t.Errorf("%s: RowSource called out of range", name)
			}
			if va.calls.Load() == 0 {
				t.Errorf("%s: RowSource never called", name)
			}
			want, mag := rowsReference(m, n, k, alpha, va.data, b, ldb, beta, g.cview(g.c), ldc, nil, false)
			compareC(t, name, g.cview(got), ldc, m, n, want, mag, k)
			checkGuards(t, name, got, g.guard, m, n, ldc)
		}
	})
}

func TestSgemmRowsBiasReLU(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for idx, s := range append(rowsShapes, [3]int{5, 40, 0}) {
			for _, withBias := range []bool{false, true} {
				for _, relu := range []bool{false, true} {
					m, n, k := s[0], s[1], s[2]
					va := &virtualA{m: m, k: k, data: randMatrix(rng, m, max(k, 1))}
					ldb, ldc := n+idx%2, n+idx%3
					b := randMatrix(rng, max(k, 1), ldb)
					var bias []float32
					if withBias {
						bias = randMatrix(rng, 1, n)
					}
					g := &gemmCase{m: m, n: n, ldc: ldc, guard: 23}
					g.c = make([]float32, 2*g.guard+m*ldc)
					for i := range g.c {
						g.c[i] = guardValue
					}
					for i := range m { // NaN in C must be ignored
						for j := range n {
							g.c[g.guard+i*ldc+j] = float32(math.NaN())
						}
					}
					got := slices.Clone(g.c)
					SgemmRowsBiasReLU(m, n, k, va.rows, b, ldb, bias, relu, g.cview(got), ldc)
					name := fmt.Sprintf("%s SgemmRowsBiasReLU m=%d n=%d k=%d bias=%v relu=%v", Level(), m, n, k, withBias, relu)
					if va.bad.Load() {
						t.Errorf("%s: RowSource called out of range", name)
					}
					want, mag := rowsReference(m, n, k, 1, va.data, b, ldb, 0, nil, ldc, bias, relu)
					compareC(t, name, g.cview(got), ldc, m, n, want, mag, k)
					checkGuards(t, name, got, g.guard, m, n, ldc)
					if relu {
						for i := range m {
							for j := range n {
								if v := g.cview(got)[i*ldc+j]; v < 0 {
									t.Fatalf("%s: C[%d,%d] = %g < 0 after ReLU", name, i, j, v)
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestSgemmTransARows checks C = alpha·Aᵀ·R + beta·C with R from a
// RowSource against a float64 reference, on shapes with edge tiles, several
// k passes and splits along either dimension; also SgemmTransARowsSerial.
func TestSgemmTransARows(t *testing.T) {
	for _, serial := range []bool{false, true} {
		testSgemmTransARows(t, serial)
	}
}

func testSgemmTransARows(t *testing.T, serial bool) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		shapes := append(slices.Clone(rowsShapes), [3]int{64, 576, 2000}, [3]int{70, 300, 1300}, [3]int{512, 40, 30})
		for idx, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			alpha, beta := scalars[idx%4], scalars[(idx/2)%4]
			if alpha == 0 {
				alpha = 2
			}
			lda, ldc := m+idx%3, n+(idx+1)%3
			a := randMatrix(rng, k, lda) // stored k×m
			at := make([]float32, m*k)   // op(A) = Aᵀ, m×k, for the reference
			for p := range k {
				for i := range m {
					at[i*k+p] = a[p*lda+i]
				}
			}
			vr := &virtualA{m: k, k: n, data: randMatrix(rng, k, n)}
			g := &gemmCase{m: m, n: n, ldc: ldc, guard: 17}
			g.c = make([]float32, 2*g.guard+m*ldc)
			for i := range g.c {
				g.c[i] = guardValue
			}
			cv := randMatrix(rng, m, ldc)
			for i := range m {
				copy(g.c[g.guard+i*ldc:g.guard+i*ldc+n], cv[i*ldc:])
			}
			got := slices.Clone(g.c)
			gemm := SgemmTransARows
			if serial {
				gemm = SgemmTransARowsSerial
			}
			gemm(m, n, k, alpha, a, lda, vr.rows, beta, g.cview(got), ldc)
			name := fmt.Sprintf("%s SgemmTransARows(serial=%v) m=%d n=%d k=%d alpha=%v beta=%v", Level(), serial, m, n, k, alpha, beta)
			if vr.bad.Load() {
				t.Errorf("%s: RowSource called out of range", name)
			}
			if vr.calls.Load() == 0 {
				t.Errorf("%s: RowSource never called", name)
			}
			want, mag := rowsReference(m, n, k, alpha, at, vr.data, n, beta, g.cview(g.c), ldc, nil, false)
			compareC(t, name, g.cview(got), ldc, m, n, want, mag, k)
			checkGuards(t, name, got, g.guard, m, n, ldc)
		}
	})
}
