// Package kernels holds gotransfer's hand-written compute: a BLIS-style
// packed SGEMM with Go-assembly micro-kernels (AVX-512, AVX2+FMA) and a
// pure-Go twin, its implicit-GEMM variant for convolutions (SgemmRows,
// SgemmRowsBiasReLU), and the small vector kernels the layers and optimizers
// need (AddBias, Relu, ReluBackward, Axpy, Scale, Sum, Dot).
//
// All matrices are row-major float32 slices with a leading dimension (the
// distance in elements between consecutive rows), as in CBLAS with
// CblasRowMajor.
//
// SGEMM follows BLIS/GotoBLAS (see blocking.go): B is packed into kc×nc
// panels sized for the 2 MiB L2 (nc·kc ≤ 256 Ki floats), A into MR×kc
// micro-panels that stay in the 48 KiB L1d (kc ≤ 576 on AVX-512, 768 on
// AVX2), and a register-blocked micro-kernel (AVX-512 14×32, AVX2 6×16, Go
// 4×4) computes one tile per call while prefetching the sources of the next
// panels. Edge tiles run the same kernel on zero-padded panels into a
// scratch tile. Large products are split along M or N into one block per
// GOMAXPROCS worker (long-lived goroutines, per-worker packing buffers
// reused across calls: no allocation in steady state). A transposed A is
// packed p-major (contiguous row copies, packAT) for "P" twins of the
// micro-kernels that read that layout.
//
// Two more implicit-GEMM entry points serve convolutions: SgemmTransARows
// (C = Aᵀ·R with R's rows from a RowSource packed straight into the B panels:
// a kernel gradient computed transposed, reducing over the pixels) and
// SgemmSegmentsBiasReLU (A given as Segments: blocks of patch rows that are
// strided views of the input are read in place by the micro-kernel, zero
// blocks skipped, only the rest packed). A transposed B is packed with
// gathers on AVX-512 (packBT).
//
// Callers that multiply many matrices by the same B pack it once (PackB, or
// Init + SetRow/RowPanels into a PackedB) and call SgemmPackedB; callers
// that already run one GEMM per core use SgemmSerial / SgemmPackedBSerial /
// SgemmTransARowsSerial, which never leave the calling goroutine. A GEMM
// whose B comes from a RowSource takes all its columns in one block (kc
// shortened, down to 256) so that rows are produced once per pass over k.
//
// BLAS offers the same kernels behind Gonum's blas.Float32 interface:
// blas32.Use(kernels.BLAS) runs a Gonum program's Sgemm (and unit-stride
// Saxpy, Sscal, Sdot) here, the rest on Gonum's own implementation.
//
// The kernel level is chosen once at start-up from the CPU's features
// (github.com/klauspost/cpuid/v2): "avx512" (AVX-512F), "avx2" (AVX2 and FMA)
// or "generic" (pure Go). The environment variable GOTRANSFER_KERNELS=
// generic|avx2|avx512 forces a level; when the CPU lacks it a warning is
// printed on stderr and the best supported level is used instead. Building
// with the "purego" tag (or on a non-amd64 machine) leaves only "generic".
package kernels

// The assembly (sgemm, vector and pack _amd64.s, internal/peak, and
// internal/winograd's transforms) and its Go declarations are written by
// internal/asmgen.
//
//go:generate go run ./internal/asmgen

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// microKernel computes one MR×NR tile of C from a packed A micro-panel and a
// packed B micro-panel (see pack.go for the layouts):
//
//	acc[i][j] = Σ_p a[i*lda+p] · b[p*NR+j]          i < MR, j < NR, p < k
//	C[i][j]   = acc + (flags&flagBeta ? beta·C[i][j] : 0) + (bias ? bias[j] : 0)
//	C[i][j]   = max(C[i][j], 0)                      when flags&flagReLU
//
// c points at C[0][0] with row stride ldc elements; bias is nil or NR floats.
// With flagBeta unset C is only written, never read (NaN in C is harmless).
// While it computes, the kernel prefetches (into L2) the lines that the
// plans aux.pf describe: parts of the sources of the next A micro-panel and
// the next B panel, so that packing them does not wait on memory, and of a
// buffer the caller reads next (SgemmSerialPrefetch). With flagMask (on
// levels whose maskInKernel is set) it also writes the bits of C[i][j] > 0
// (NaN: 0) to aux.mask: row i's NR/16 words from byte aux.mask + i·aux.ldm, bit j%16 of
// word j/16 (kernels.ReluMask's layout), while the tile is in registers.
type microKernel func(k int, a *float32, lda int, b *float32, c *float32, ldc int, beta float32, bias *float32, flags int, aux *kernelAux)

// microKernelDB is a microKernel whose B micro-panel is read in place,
// row p at b[p*ldb:][:NR] (row-major B with row stride ldb floats).
type microKernelDB func(k int, a *float32, lda int, b *float32, c *float32, ldc int, beta float32, bias *float32, flags int, aux *kernelAux, ldb int)

// prefetchPlan is a run of cache lines laid out as rows: start at ptr, take
// first lines, then jump bytes further, then lines per row, until total
// lines are done (total 0: nothing). The layout is read by the assembly.
type prefetchPlan struct {
	ptr   uintptr // first line
	first int     // lines left in the first row
	lines int     // lines per row
	jump  int     // bytes from the end of one row's lines to the next row's first line
	total int     // lines to prefetch
}

// kernelAux is a micro-kernel call's side information, read by the
// assembly at fixed offsets: the prefetch plans (bytes 0–159; the kernel
// walks them in order and stops at the first empty one, so non-empty plans
// come first and pf[3] is always empty), then the mask pointer (160) and
// row stride in bytes (168) for flagMask.
type kernelAux struct {
	pf   [4]prefetchPlan
	mask *uint16
	ldm  int
}

// setPlans stores the non-empty plans among a, b, c first, in that order.
func (x *kernelAux) setPlans(a, b, c prefetchPlan) {
	x.pf = [4]prefetchPlan{}
	q := 0
	for _, pl := range [3]prefetchPlan{a, b, c} {
		if pl.total > 0 {
			x.pf[q] = pl
			q++
		}
	}
}

const (
	flagBeta = 1 // add beta·C to the tile
	flagReLU = 2 // clamp the tile at zero after bias
	flagMask = 4 // write C > 0 as bits to aux.mask (maskInKernel levels)
	// flagNoCPrefetch: do not prefetch the C tile at entry (AVX-512). Set
	// for the short calls of a Segments product (k < segmentNoCPrefetchK),
	// where the 28 prefetches only hold the fill buffers the A and B loads
	// need: VGG16 block1_conv1's forward (k = 27) runs faster without them
	// (BenchmarkConv2D), while plain Sgemm calls with the same k are slower
	// without the prefetch.
	flagNoCPrefetch = 8
)

// segmentNoCPrefetchK: Segments products with narrower segments set
// flagNoCPrefetch.
const segmentNoCPrefetchK = 64

// kernelLevel is one implementation level: its micro-kernel, tile shape,
// cache blocking and small vector kernels.
type kernelLevel struct {
	name   string
	mr, nr int         // micro-tile rows (A broadcasts) and columns (B vectors)
	kcMax  int         // longest k slice per pass; A micro-panel mr·kc floats lives in L1
	bPanel int         // floats of the packed B panel kc·nc, sized for L2
	kernel microKernel // the register-blocked micro-kernel
	// packB, when set, packs whole micro-panels of a non-transposed B (see
	// pack.go): for p < kc, q < panels: dst[q*kc*nr+p*nr:][:nr] = src[p*ldb+q*nr:][:nr].
	packB func(dst, src *float32, ldb, kc, panels int)
	// kernelP and packAT, when set, handle a transposed A: packAT copies
	// rows (≤ mr) floats of each of kc source rows into the p-major
	// micro-panel (dst[p*mr+i] = src[p*lda+i], zero for i ≥ rows), and
	// kernelP is the micro-kernel reading A p-major, element (i, p) at
	// a[p*lda+i]: that packed layout (lda = mr), or a transposed A in place.
	kernelP microKernel
	packAT  func(dst, src *float32, lda, kc, rows, mr int)
	// packBT, when set, packs whole micro-panels of a transposed B (stored
	// n×k): for q < panels, p < kc, jj < nr:
	// dst[q*kc*nr+p*nr+jj] = src[(q*nr+jj)*ldb+p] (Go twin packBTGo).
	packBT func(dst, src *float32, ldb, kc, panels int)
	// kernelDB, when set, is kernel reading B in place instead of packed:
	// element (p, j) of the B micro-panel at b[p*ldb+j] (see directB).
	kernelDB microKernelDB
	// kernelPDB, when set, is kernelP (p-major A) reading B in place.
	kernelPDB microKernelDB
	// maskInKernel: every micro-kernel of the level honours flagMask
	// (NR a multiple of 16); elsewhere masks are computed after the product.
	maskInKernel bool
	vec          vecKernels // small kernels
}

// vecKernels are the small kernels of one level; each has a pure-Go twin in
// vector_generic.go.
type vecKernels struct {
	axpy         func(alpha float32, x, y []float32)
	scale        func(alpha float32, x []float32)
	add          func(dst, src []float32)
	relu         func(dst, src []float32)
	reluBackward func(dx, dy, y []float32)
	// reluMask and reluBackwardMask see whole 16-float groups only
	// (len(y) and len(dx) multiples of 16); the exported wrappers do the tail.
	reluMask         func(mask []uint16, y []float32)
	reluBackwardMask func(dx, dy []float32, mask []uint16)
	sum              func(x []float32) float32
	dot              func(x, y []float32) float32
}

// supported lists the levels this build and CPU support, best first; the
// architecture file appends to it in init.
var (
	supported []*kernelLevel // usable on this CPU and build, best first
	allNames  = []string{"avx512", "avx2", "generic"}
	active    atomic.Pointer[kernelLevel]
)

func init() {
	registerArch() // kernels_amd64.go / kernels_noasm.go
	supported = append(supported, genericLevel)
	active.Store(supported[0])
	if want := strings.TrimSpace(os.Getenv("GOTRANSFER_KERNELS")); want != "" {
		if err := SetLevel(want); err != nil {
			fmt.Fprintf(os.Stderr, "gotransfer/kernels: GOTRANSFER_KERNELS=%s: %v; using %s\n", want, err, supported[0].name)
		}
	}
}

// Level reports the active kernel level: "avx512", "avx2" or "generic".
func Level() string { return active.Load().name }

// Levels returns the levels usable on this CPU, best first (always ending in
// "generic").
func Levels() []string {
	names := make([]string, len(supported))
	for i, l := range supported {
		names[i] = l.name
	}
	return names
}

// SetLevel switches the active kernel level in-process. It exists for tests
// and benchmarks that compare levels in one run; programs should rely on the
// start-up choice (or GOTRANSFER_KERNELS). It returns an error, and leaves
// the level unchanged, when the name is unknown or the CPU lacks the level.
// Calls already running finish on the level they started with.
func SetLevel(name string) error {
	for _, l := range supported {
		if l.name == name {
			active.Store(l)
			return nil
		}
	}
	for _, c := range allNames {
		if c == name {
			return fmt.Errorf("kernel level %q is not supported by this CPU (or build)", name)
		}
	}
	return fmt.Errorf("unknown kernel level %q (want generic, avx2 or avx512)", name)
}
