package winograd

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gotransfer/gotransfer/kernels"
)

// ---------------------------------------------------------------------------
// The blocked, parallel driver.

// workspace is one worker's reusable buffers.
type workspace struct {
	vm      []float32 // the V and M buffers, one allocation of workspaceBudget
	v, m    []float32 // [α²][T][cin], [α²][T][cout], views of vm
	inTile  []float32 // α×α×cin zero-padded copy of an edge input tile
	outTile []float32 // m×m×cout output of a partial edge tile
	zero    []float32 // cout zeros, the bias when there is none
}

// job describes one convolution call shared by the workers.
type job struct {
	x, bias, y         []float32
	u                  []kernels.PackedB // α² packed cin×cout
	serialGemm         bool              // several workers: one GEMM per core
	n, h, w, cin, cout int
	m, alpha           int
	tilesH, tilesW     int
	tiles, blockTiles  int
	relu               bool
	next               atomic.Int64 // next block to take
	nblocks            int
	wg                 sync.WaitGroup
	ws                 []*workspace
}

// workspaceBudget is one worker's V+M buffer (bytes), allocated once at this
// size (larger only when Plan.BlockTiles asks for more) and shared by every
// layer, so running layers of different shapes never regrows it.
const workspaceBudget = 24 << 20

// maxBlockTiles caps T; blockTileStep is the granule T is rounded to, a
// multiple of the GEMM micro-tile rows (14 for AVX-512, 6 for AVX2) so the
// α² GEMMs (T rows each) waste no partial tiles.
const (
	maxBlockTiles = 256
	blockTileStep = 42
)

// blockTilesFor picks T, the tiles per block: as many as fit in
// workspaceBudget (α²·T·(cin+cout)·4 bytes), at most maxBlockTiles. With U
// pre-packed, a GEMM of T rows costs no repacking, so T only has to be large
// enough to keep the packed U panel busy in L2: on the batch-16 layers of
// BenchmarkWinograd (F4, 2 workers, Plan.BlockTiles set) T from 128 to 256
// runs at the same speed and 64 is slower.
func blockTilesFor(alpha, cin, cout int) int {
	t := min(maxBlockTiles, workspaceBudget/(4*alpha*alpha*(cin+cout)))
	if t > blockTileStep {
		t = t / blockTileStep * blockTileStep
	}
	return max(16, t)
}

func (p *Plan) run(x []float32, n, h, w, cin int, u []kernels.PackedB, cout int, bias []float32, relu bool, y []float32) {
	if n == 0 || h == 0 || w == 0 {
		return
	}
	j := &p.job
	m := int(p.variant)
	j.x, j.u, j.bias, j.y = x, u, bias, y
	j.n, j.h, j.w, j.cin, j.cout = n, h, w, cin, cout
	j.m, j.alpha, j.relu = m, m+2, relu
	j.tilesH, j.tilesW = (h+m-1)/m, (w+m-1)/m
	j.tiles = n * j.tilesH * j.tilesW
	j.blockTiles = p.BlockTiles
	if j.blockTiles <= 0 {
		j.blockTiles = blockTilesFor(j.alpha, cin, cout)
	}
	j.blockTiles = min(j.blockTiles, j.tiles)
	j.nblocks = (j.tiles + j.blockTiles - 1) / j.blockTiles
	workers := runtime.GOMAXPROCS(0)
	if p.Workers > 0 {
		workers = min(workers, p.Workers)
	}
	workers = max(1, min(workers, j.nblocks))
	if p.BlockTiles <= 0 && j.nblocks%workers != 0 {
		// Balance: a multiple of workers blocks of equal size (never larger).
		j.nblocks = (j.nblocks + workers - 1) / workers * workers
		t := (j.tiles + j.nblocks - 1) / j.nblocks
		if r := roundUpTo(t, blockTileStep); r <= j.blockTiles {
			t = r // whole micro-tiles; the block queue absorbs the imbalance
		}
		j.blockTiles = t
		j.nblocks = (j.tiles + j.blockTiles - 1) / j.blockTiles
	}
	p.ws = getWorkspaces(p.ws[:0], workers)
	for _, ws := range p.ws {
		ws.ensure(j)
	}
	j.ws = p.ws
	j.serialGemm = workers > 1
	j.next.Store(0)
	if workers > 1 {
		startPool(workers - 1)
		j.wg.Add(workers - 1)
		for i := 1; i < workers; i++ {
			pool.tasks <- task{j, i}
		}
	}
	j.work(0)
	j.wg.Wait()
	putWorkspaces(p.ws)
	clear(p.ws)
	j.x, j.u, j.bias, j.y, j.ws = nil, nil, nil, nil, nil
}

// wsPool holds idle workspaces shared by all plans: layers run one after
// another, so the buffers are sized by the largest layer, not summed.
var wsPool struct {
	mu   sync.Mutex
	free []*workspace
}

// getWorkspaces appends n workspaces from the pool (new ones if empty) to dst.
func getWorkspaces(dst []*workspace, n int) []*workspace {
	wsPool.mu.Lock()
	defer wsPool.mu.Unlock()
	for ; n > 0; n-- {
		if k := len(wsPool.free); k > 0 {
			dst = append(dst, wsPool.free[k-1])
			wsPool.free = wsPool.free[:k-1]
		} else {
			dst = append(dst, &workspace{})
		}
	}
	return dst
}

// putWorkspaces returns workspaces to the pool.
func putWorkspaces(ws []*workspace) {
	wsPool.mu.Lock()
	wsPool.free = append(wsPool.free, ws...)
	wsPool.mu.Unlock()
}

func (ws *workspace) ensure(j *job) {
	a2 := j.alpha * j.alpha
	nv, nm := a2*j.blockTiles*j.cin, a2*j.blockTiles*j.cout
	if cap(ws.vm) < nv+nm {
		ws.vm = make([]float32, max(nv+nm, workspaceBudget/4))
	}
	ws.v, ws.m = ws.vm[:nv:nv], ws.vm[nv:nv+nm:nv+nm]
	ws.inTile = grow(ws.inTile, a2*j.cin)
	ws.outTile = grow(ws.outTile, j.m*j.m*j.cout)
	ws.zero = grow(ws.zero, j.cout)
	clear(ws.zero)
}

func roundUpTo(x, to int) int { return (x + to - 1) / to * to }

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// work runs blocks until none is left, with workspace i.
func (j *job) work(i int) {
	ws := j.ws[i]
	for {
		b := int(j.next.Add(1) - 1)
		if b >= j.nblocks {
			return
		}
		t0 := b * j.blockTiles
		j.block(ws, t0, min(j.blockTiles, j.tiles-t0))
	}
}

// block convolves tiles [t0, t0+nt): input transform into V, α² GEMMs into
// M, output transform (+bias, ReLU) into y.
func (j *job) block(ws *workspace, t0, nt int) {
	T, cin, cout, alpha, m := j.blockTiles, j.cin, j.cout, j.alpha, j.m
	h, w := j.h, j.w
	rowStride := w * cin
	perImage := j.tilesH * j.tilesW
	inTr, outTr := inputTransform(m), outputTransform(m)

	// 1. Input transform: V[ξ][t][ci] = (Bᵀ d_t B)[ξ] per channel.
	for t := 0; t < nt; t++ {
		img, r := (t0+t)/perImage, (t0+t)%perImage
		y0, x0 := (r/j.tilesW)*m-1, (r%j.tilesW)*m-1 // top-left input pixel (may be -1)
		base := img * h * w * cin
		if y0 >= 0 && x0 >= 0 && y0+alpha <= h && x0+alpha <= w {
			src := j.x[base+(y0*w+x0)*cin:]
			inTr(src, rowStride, cin, ws.v[t*cin:], T*cin, cin)
			continue
		}
		// Edge tile: copy the in-range part into a zero-padded α×α×cin tile.
		tile := ws.inTile
		clear(tile)
		for dy := 0; dy < alpha; dy++ {
			yy := y0 + dy
			if yy < 0 || yy >= h {
				continue
			}
			xa, xb := max(x0, 0), min(x0+alpha, w)
			if xa >= xb {
				continue
			}
			copy(tile[(dy*alpha+xa-x0)*cin:(dy*alpha+xb-x0)*cin], j.x[base+(yy*w+xa)*cin:base+(yy*w+xb)*cin])
		}
		inTr(tile, alpha*cin, cin, ws.v[t*cin:], T*cin, cin)
	}

	// 2. α² GEMMs: M[ξ] (nt×cout) = V[ξ] (nt×cin) · U[ξ] (cin×cout).
	for xi := 0; xi < alpha*alpha; xi++ {
		if j.serialGemm {
			kernels.SgemmPackedBSerial(false, nt, cout, cin, 1, ws.v[xi*T*cin:], cin, &j.u[xi], 0, ws.m[xi*T*cout:], cout)
		} else {
			kernels.SgemmPackedB(false, nt, cout, cin, 1, ws.v[xi*T*cin:], cin, &j.u[xi], 0, ws.m[xi*T*cout:], cout)
		}
	}

	// 3. Output transform + bias + ReLU: y tile = Aᵀ M_t A.
	bias := j.bias
	if bias == nil {
		bias = ws.zero
	}
	for t := 0; t < nt; t++ {
		img, r := (t0+t)/perImage, (t0+t)%perImage
		oy, ox := (r/j.tilesW)*m, (r%j.tilesW)*m
		base := img * h * w * cout
		src := ws.m[t*cout:]
		if oy+m <= h && ox+m <= w {
			outTr(src, T*cout, j.y[base+(oy*w+ox)*cout:], w*cout, cout, cout, bias, j.relu)
			continue
		}
		// Partial edge tile: transform into m×m×cout, copy the valid part.
		outTr(src, T*cout, ws.outTile, m*cout, cout, cout, bias, j.relu)
		rows, cols := min(m, h-oy), min(m, w-ox)
		for dy := 0; dy < rows; dy++ {
			copy(j.y[base+((oy+dy)*w+ox)*cout:base+((oy+dy)*w+ox+cols)*cout], ws.outTile[dy*m*cout:(dy*m+cols)*cout])
		}
	}
}

// ---------------------------------------------------------------------------
// A tiny persistent worker pool: go statements with arguments allocate, a
// channel send of a small struct does not.

type task struct {
	r runner
	i int
}

// runner is work split in parts: run(i) does part i, done marks it finished.
type runner interface {
	run(i int)
	done()
}

func (j *job) run(i int) { j.work(i) }
func (j *job) done()     { j.wg.Done() }

var pool struct {
	mu      sync.Mutex
	started int
	tasks   chan task
}

// startPool makes sure at least n pool goroutines exist.
func startPool(n int) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.tasks == nil {
		pool.tasks = make(chan task)
	}
	for ; pool.started < n; pool.started++ {
		go func() {
			for t := range pool.tasks {
				t.r.run(t.i)
				t.r.done()
			}
		}()
	}
}

// kernelJob runs transformKernelRange over parts of the input channels on
// the pool, each part with its own slice of tmp.
type kernelJob struct {
	u               []kernels.PackedB
	tmp, kernel     []float32
	cin, cout, m    int
	parts, tmpParts int
	wg              sync.WaitGroup
}

func (k *kernelJob) run(i int) {
	transformKernelRange(k.u, k.tmp[i*k.tmpParts:(i+1)*k.tmpParts], k.kernel, k.cin, k.cout, k.m, i*k.cin/k.parts, (i+1)*k.cin/k.parts)
}

func (k *kernelJob) done() { k.wg.Done() }

// transform sets dst = the α² packed matrices U[ξ] of kernel (3,3,cin,cout),
// in parallel over input channels on up to GOMAXPROCS goroutines; it returns
// dst (reusing its buffers when the shape is unchanged).
func (p *Plan) transform(dst []kernels.PackedB, kernel []float32, cin, cout int) []kernels.PackedB {
	m := int(p.variant)
	alpha := m + 2
	if len(dst) != alpha*alpha {
		dst = make([]kernels.PackedB, alpha*alpha)
	}
	for i := range dst {
		dst[i].Init(cin, cout)
	}
	parts := max(1, min(runtime.GOMAXPROCS(0), cin/16))
	if p.Workers > 0 {
		parts = min(parts, p.Workers)
	}
	k := &p.kjob
	k.tmpParts = transformTmp(alpha, cout)
	tmp := getTransformScratch(parts * k.tmpParts)
	k.u, k.tmp, k.kernel = dst, tmp, kernel
	k.cin, k.cout, k.m, k.parts = cin, cout, m, parts
	if parts > 1 {
		startPool(parts - 1)
		k.wg.Add(parts - 1)
		for i := 1; i < parts; i++ {
			pool.tasks <- task{k, i}
		}
	}
	k.run(0)
	k.wg.Wait()
	k.u, k.tmp, k.kernel = nil, nil, nil
	putTransformScratch(tmp)
	return dst
}

// transformScratch is the kernel transforms' scratch, shared by all plans
// (a frozen layer's plan transforms once and would otherwise keep its
// scratch forever); a transform running while another holds it allocates
// its own.
var transformScratch struct {
	sync.Mutex
	buf []float32
}

func getTransformScratch(n int) []float32 {
	transformScratch.Lock()
	buf := transformScratch.buf
	transformScratch.buf = nil
	transformScratch.Unlock()
	return grow(buf, n)
}

func putTransformScratch(buf []float32) {
	transformScratch.Lock()
	if cap(buf) > cap(transformScratch.buf) {
		transformScratch.buf = buf
	}
	transformScratch.Unlock()
}
