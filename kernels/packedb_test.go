package kernels

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// gemmVariant is one way of computing a gemmCase: Sgemm's serial twin, or
// the packed-B calls (B packed by PackB, or row by row with SetRow).
type gemmVariant struct {
	name string
	call func(g *gemmCase, c []float32)
}

var gemmVariants = []gemmVariant{
	{"SgemmSerial", func(g *gemmCase, c []float32) {
		SgemmSerial(g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
	}},
	{"SgemmPackedB", func(g *gemmCase, c []float32) {
		var pb PackedB
		PackB(g.transB, g.k, g.n, g.b, g.ldb, &pb)
		SgemmPackedB(g.transA, g.m, g.n, g.k, g.alpha, g.a, g.lda, &pb, g.beta, c, g.ldc)
	}},
	{"SgemmPackedBSerial+SetRow", func(g *gemmCase, c []float32) {
		var pb PackedB
		pb.Init(g.k, g.n)
		row := make([]float32, g.n)
		for p := g.k - 1; p >= 0; p-- { // any order
			for j := range row {
				if g.transB {
					row[j] = g.b[j*g.ldb+p]
				} else {
					row[j] = g.b[p*g.ldb+j]
				}
			}
			pb.SetRow(p, row)
		}
		SgemmPackedBSerial(g.transA, g.m, g.n, g.k, g.alpha, g.a, g.lda, &pb, g.beta, c, g.ldc)
	}},
	{"SgemmPackedB+RowPanel", func(g *gemmCase, c []float32) {
		var pb PackedB
		pb.Init(g.k, g.n)
		nr := pb.PanelWidth()
		for q := 0; q*nr < g.n; q++ {
			for p := range g.k {
				dst := pb.RowPanel(p, q)
				for jj := range min(nr, g.n-q*nr) {
					j := q*nr + jj
					if g.transB {
						dst[jj] = g.b[j*g.ldb+p]
					} else {
						dst[jj] = g.b[p*g.ldb+j]
					}
				}
			}
		}
		SgemmPackedB(g.transA, g.m, g.n, g.k, g.alpha, g.a, g.lda, &pb, g.beta, c, g.ldc)
	}},
}

// checkVariant runs v on a copy of C and compares it with the float64
// reference, guards included.
func (g *gemmCase) checkVariant(t *testing.T, v gemmVariant) {
	t.Helper()
	got := slices.Clone(g.c)
	v.call(g, g.cview(got))
	want, mag := g.reference()
	name := fmt.Sprintf("%s %s tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v", v.name, Level(), g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta)
	compareC(t, name, g.cview(got), g.ldc, g.m, g.n, want, mag, g.k)
	checkGuards(t, name, got, g.guard, g.m, g.n, g.ldc)
}

// TestPackedBAndSerial checks the serial and packed-B entry points against
// the float64 reference on every level: each dimension over 1–33, several
// k slices (k > kcMax) and column blocks, parallel splits, padded leading
// dimensions, all transposes, alpha and beta.
func TestPackedBAndSerial(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := newRNG(t)
		for _, v := range gemmVariants {
			for dim := range 3 {
				for s := 1; s <= 33; s += 4 {
					size := [3]int{19, 35, 21}
					size[dim] = s
					tA, tB := rng.IntN(2) == 1, rng.IntN(2) == 1
					newCase(rng, tA, tB, size[0], size[1], size[2], scalars[rng.IntN(4)], scalars[rng.IntN(4)], rng.IntN(3)).checkVariant(t, v)
				}
			}
			for i, s := range [][3]int{{301, 67, 1000}, {97, 1100, 800}, {1000, 35, 130}, {64, 700, 1300}, {29, 3, 64}} {
				newCase(rng, i%2 == 1, i >= 2, s[0], s[1], s[2], scalars[(i+1)%4], scalars[i%4], 5).checkVariant(t, v)
			}
		}
	})
}

// TestPackedBLevelKept: a matrix packed at one level keeps working (with
// that level's kernel) after SetLevel switches to another.
func TestPackedBLevelKept(t *testing.T) {
	prev := Level()
	defer SetLevel(prev)
	rng := newRNG(t)
	g := newCase(rng, false, false, 70, 90, 600, 1, 0, 1)
	for _, packAt := range Levels() {
		for _, runAt := range Levels() {
			SetLevel(packAt)
			var pb PackedB
			PackB(false, g.k, g.n, g.b, g.ldb, &pb)
			SetLevel(runAt)
			g.checkVariant(t, gemmVariant{"packed at " + packAt, func(g *gemmCase, c []float32) {
				SgemmPackedB(false, g.m, g.n, g.k, 1, g.a, g.lda, &pb, 0, c, g.ldc)
			}})
		}
	}
}

func TestPackedBPanicsOnMismatch(t *testing.T) {
	var pb PackedB
	b := make([]float32, 12*10)
	PackB(false, 12, 10, b, 10, &pb)
	var big PackedB
	big.Init(3000, 10) // several k slices
	a, c := make([]float32, 5*12), make([]float32, 5*10)
	for name, f := range map[string]func(){
		"k mismatch":   func() { SgemmPackedB(false, 5, 10, 11, 1, a, 11, &pb, 0, c, 10) },
		"n mismatch":   func() { SgemmPackedB(false, 5, 9, 12, 1, a, 12, &pb, 0, c, 9) },
		"empty packed": func() { SgemmPackedB(false, 5, 10, 12, 1, a, 12, &PackedB{}, 0, c, 10) },
		"row range":    func() { pb.SetRow(12, b[:10]) },
		"short row":    func() { pb.SetRow(0, b[:9]) },
		"panel range":  func() { pb.RowPanel(0, (pb.N()+pb.PanelWidth()-1)/pb.PanelWidth()) },
		"rows past k":  func() { pb.RowPanels(10, 3, 0) },
		"cross slice":  func() { big.RowPanels(big.SliceRows()-1, 2, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestPackedBZeroAllocs: warmed-up packed-B calls and a same-size repack
// allocate nothing.
func TestPackedBZeroAllocs(t *testing.T) {
	rng := newRNG(t)
	m, n, k := 300, 150, 700
	a, b, c := randMatrix(rng, m, k), randMatrix(rng, k, n), make([]float32, m*n)
	var pb PackedB
	PackB(false, k, n, b, n, &pb)
	for name, run := range map[string]func(){
		"SgemmPackedB":       func() { SgemmPackedB(false, m, n, k, 1, a, k, &pb, 0, c, n) },
		"SgemmPackedBSerial": func() { SgemmPackedBSerial(false, m, n, k, 1, a, k, &pb, 0, c, n) },
		"SgemmSerial":        func() { SgemmSerial(false, true, m, n, k, 1, a, k, b, k, 0, c, n) },
		"PackB":              func() { PackB(true, k, n, b, k, &pb) },
	} {
		run()
		if allocs := testing.AllocsPerRun(10, run); allocs != 0 {
			t.Errorf("%s allocates %v times per call after warm-up, want 0", name, allocs)
		}
	}
}

// TestSgemmConcurrentCallers runs parallel Sgemm calls (shared-B and
// static schedules) from several goroutines at once with GOMAXPROCS 3, so
// that jobs compete for the worker pool; every result must match the
// single-caller result and nothing may deadlock.
func TestSgemmConcurrentCallers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	rng := newRNG(t)
	shapes := [][3]int{{400, 70, 300}, {300, 300, 64}, {90, 500, 200}}
	type job struct {
		m, n, k int
		a, b    []float32
		want    []float32
	}
	var jobs []job
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		jb := job{m: m, n: n, k: k, a: randMatrix(rng, m, k), b: randMatrix(rng, k, n), want: make([]float32, m*n)}
		Sgemm(false, false, m, n, k, 1, jb.a, k, jb.b, n, 0, jb.want, n)
		jobs = append(jobs, jb)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 10 {
				jb := jobs[(g+r)%len(jobs)]
				c := make([]float32, jb.m*jb.n)
				Sgemm(false, false, jb.m, jb.n, jb.k, 1, jb.a, jb.k, jb.b, jb.n, 0, c, jb.n)
				if !slices.Equal(c, jb.want) {
					errs <- fmt.Sprintf("goroutine %d call %d: %dx%dx%d differs", g, r, jb.m, jb.n, jb.k)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
