package kernels

import (
	"runtime"
	"sync"
)

// parallelMin is the smallest product m·n·k (multiply-adds) worth splitting
// across workers: about 2 MFLOP, tens of microseconds on one core, well above
// the cost of waking a parked worker.
const parallelMin = 1 << 20

// task is one worker's share of a job: C[m0:m1, n0:n1].
type task struct {
	job            *gemmJob
	m0, m1, n0, n1 int
}

// workers is the pool of long-lived goroutines that run tasks; it grows up
// to GOMAXPROCS-1 (the calling goroutine does one share itself).
var workers struct {
	sync.Mutex
	started int
	tasks   chan task
}

func ensureWorkers(n int) {
	workers.Lock()
	defer workers.Unlock()
	if workers.tasks == nil {
		workers.tasks = make(chan task, 64)
	}
	for ; workers.started < n; workers.started++ {
		go worker(workers.tasks)
	}
}

func worker(tasks <-chan task) {
	for t := range tasks {
		ar := getArena()
		t.job.block(t.m0, t.m1, t.n0, t.n1, ar)
		putArena(ar)
		t.job.wg.Done()
	}
}

// run splits C into at most GOMAXPROCS blocks of whole micro-tiles along one
// dimension and computes them in parallel. It splits M (each worker packs
// its own copy of B, k·n floats) when n <= m, else N (each packs its own A),
// so the duplicated packing is the smaller operand; small products run on the
// calling goroutine alone.
func (j *gemmJob) run() {
	lv := j.lv
	parts := runtime.GOMAXPROCS(0)
	if j.m*j.n*j.k < parallelMin || j.serial {
		parts = 1
	}
	tilesM := (j.m + lv.mr - 1) / lv.mr
	tilesN := (j.n + lv.nr - 1) / lv.nr
	splitM := j.n <= j.m || j.pb != nil // a packed B is shared, never duplicated
	if splitM && tilesM < parts && tilesN > tilesM {
		splitM = false
	} else if !splitM && tilesN < parts && tilesM > tilesN {
		splitM = true
	}
	tiles, tile := tilesN, lv.nr
	if splitM {
		tiles, tile = tilesM, lv.mr
	}
	parts = min(parts, tiles)
	if parts <= 1 {
		ar := getArena()
		j.block(0, j.m, 0, j.n, ar)
		putArena(ar)
		return
	}
	ensureWorkers(parts - 1)
	limit := j.n
	if splitM {
		limit = j.m
	}
	edge := func(q int) int { return min(q*tiles/parts*tile, limit) } // first row/column of part q
	j.wg.Add(parts - 1)
	for q := 1; q < parts; q++ {
		t := task{job: j, m0: 0, m1: j.m, n0: edge(q), n1: edge(q + 1)}
		if splitM {
			t = task{job: j, m0: edge(q), m1: edge(q + 1), n0: 0, n1: j.n}
		}
		workers.tasks <- t
	}
	ar := getArena()
	if splitM {
		j.block(0, edge(1), 0, j.n, ar)
	} else {
		j.block(0, j.m, 0, edge(1), ar)
	}
	putArena(ar)
	j.wg.Wait()
}
