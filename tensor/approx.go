package tensor

import (
	"fmt"
	"math"
)

// MaxAbsDiff returns the largest |a[i] - b[i]| and its index. NaN in either
// slice gives +Inf. It panics when the lengths differ.
func MaxAbsDiff(a, b []float32) (float64, int) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("tensor.MaxAbsDiff: lengths %d and %d", len(a), len(b)))
	}
	worst, at := 0.0, -1
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > worst || at < 0 {
			worst, at = d, i
		}
	}
	return worst, at
}

// AllClose reports whether |got[i] - want[i]| <= atol + rtol·|want[i]| for
// every i (NumPy's isclose convention). If not, the error names the first
// offending index with both values.
func AllClose(got, want []float32, rtol, atol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || math.Abs(g-w) > atol+rtol*math.Abs(w) || (math.IsInf(g, 0) && g != w) {
			return fmt.Errorf("element %d: got %g, want %g (|diff| %g > %g)", i, g, w, math.Abs(g-w), atol+rtol*math.Abs(w))
		}
	}
	return nil
}

// MaxAbs returns max |a[i]| (0 for an empty slice).
func MaxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}
