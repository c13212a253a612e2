package main

import "fmt"

// The SGEMM micro-kernels (kernels/sgemm_amd64.s). Each computes one MR×NR
// tile of C from an A micro-panel (MR rows, k columns) and a B micro-panel
// (k rows of NR floats):
//
//	acc[i][j] = Σ_p A[i][p]·B[p][j]
//	C[i][j]   = acc[i][j] (+ beta·C[i][j] when flags&1) (+ bias[j]) (then max(·, 0) when flags&2)
//	mask row i, bit j = C[i][j] > 0   (AVX-512 only, when flags&4; see kernelAux)
//
// Each A element is broadcast into a register (VBROADCASTSS) and feeds the
// FMAs of one tile row; B rows are vector loads. The k loop is unrolled 4
// times; each unrolled iteration also prefetches packed B ahead and one
// line of the caller's prefetch plan (kernelAux: the sources of the next A
// micro-panel and B panel). The AVX-512 kernels prefetch their C tile at
// entry unless flags&8.

// gemmKernel is one micro-kernel variant: an instruction set (the emit
// function) and the layouts it reads.
type gemmKernel struct {
	fn    goFunc
	label string // prefix of the function's labels
	emit  func(*asm, gemmKernel)
	// pmajor: the A micro-panel is p-major, element (i, p) at a[p*lda+i]:
	// a packed panel (lda = MR, which a transposed A packs into with row
	// copies) or a transposed A read in place. Otherwise row-major, element
	// (i, p) at a[i*lda+p].
	pmajor bool
	// directB: B is read in place, row p of the micro-panel at b + p·ldb
	// floats (ldb the extra last argument), instead of packed rows of NR
	// floats (AVX-512 only).
	directB bool
}

// bPrefetchAhead is how far ahead (bytes) of the packed-B pointer the k
// loop prefetches: 16 k steps of the 32-wide AVX-512 panel, 32 of the
// 16-wide AVX2 one (BenchmarkMicroKernel times the kernel streaming its B
// panels from L2).
const bPrefetchAhead = 2048

// directBPrefetchRows is how many B rows ahead the in-place-B ("DB")
// kernels prefetch, through R15.
const directBPrefetchRows = 8

const (
	kernelParams = "k int, a *float32, lda int, b *float32, c *float32, ldc int, beta float32, bias *float32, flags int, aux *kernelAux"
	pmajorNote   = "A is p-major: element (i, p) at a[p*lda+i]."
	directBNote  = "B is read in place: row p of the micro-panel at b + p*ldb floats."
)

// gemmKernels lists the micro-kernels in file order.
var gemmKernels = []gemmKernel{
	{emit: zmmKernel, label: "avx512_", fn: goFunc{name: "sgemmKernel14x32AVX512", params: kernelParams,
		doc: []string{"sgemmKernel14x32AVX512 is the AVX-512 micro-kernel: a 14×32 tile in 28 zmm", "accumulators, A row-major, B packed (see microKernel)."}}},
	{emit: ymmKernel, label: "avx2_", fn: goFunc{name: "sgemmKernel6x16AVX2", params: kernelParams,
		doc: []string{"sgemmKernel6x16AVX2 is the AVX2 micro-kernel: a 6×16 tile in 12 ymm", "accumulators, A row-major, B packed (see microKernel)."}}},
	{emit: zmmKernel, label: "avx512p_", pmajor: true, fn: goFunc{name: "sgemmKernel14x32AVX512P", params: kernelParams,
		asmNote: []string{pmajorNote},
		doc:     []string{"sgemmKernel14x32AVX512P is sgemmKernel14x32AVX512 reading the A micro-panel", "p-major (element (i, p) at a[p*lda+i]): the layout a transposed A packs into", "with row copies (packAT*, lda = MR), or a transposed A with short rows read", "in place."}}},
	{emit: ymmKernel, label: "avx2p_", pmajor: true, fn: goFunc{name: "sgemmKernel6x16AVX2P", params: kernelParams,
		asmNote: []string{pmajorNote},
		doc:     []string{"sgemmKernel6x16AVX2P is sgemmKernel6x16AVX2 reading A p-major (as", "sgemmKernel14x32AVX512P)."}}},
	{emit: zmmKernel, label: "avx512db_", directB: true, fn: goFunc{name: "sgemmKernel14x32AVX512DB", params: kernelParams + ", ldb int",
		asmNote: []string{directBNote},
		doc:     []string{"sgemmKernel14x32AVX512DB is sgemmKernel14x32AVX512 reading B in place: row p", "of the B micro-panel at b + p*ldb floats (32 contiguous floats each),", "instead of a packed panel."}}},
	{emit: zmmKernel, label: "avx512pdb_", pmajor: true, directB: true, fn: goFunc{name: "sgemmKernel14x32AVX512PDB", params: kernelParams + ", ldb int",
		asmNote: []string{pmajorNote, directBNote},
		doc:     []string{"sgemmKernel14x32AVX512PDB reads A p-major (as the P kernels) and B in place", "(as DB)."}}},
}

// aRow returns the address of A row i at byte offset off (0, 4, 8 or 12:
// step u of an unrolled group is off = 4u).
//
// Row-major A: SI = row 0, R8 = row 5, R9 = row 10, BX = lda bytes,
// DX = 3·lda bytes, so rows 0–4 of each group of five are base, +BX,
// +2·BX, +DX, +4·BX. P-major A: SI + u·lda + 4i (the rows of one k step are
// contiguous; BX = lda bytes, DX = 3·lda bytes).
func aRow(k gemmKernel, i, off int) string {
	if k.pmajor {
		return fmt.Sprintf("%d(SI)%s", 4*i, []string{"", "(BX*1)", "(BX*2)", "(DX*1)"}[off/4])
	}
	base := []string{"SI", "R8", "R9"}[i/5]
	index := []string{"", "(BX*1)", "(BX*2)", "(DX*1)", "(BX*4)"}[i%5]
	return fmt.Sprintf("%d(%s)%s", off, base, index)
}

// bRow returns the address of B row u (0–3) of the current group of four,
// at byte offset off, from base (DI, or R15 for the prefetch stream):
// packed rows are 128 bytes apart; in-place rows ldb bytes (R13 = ldb
// bytes, R14 = 3·ldb bytes).
func bRow(k gemmKernel, base string, u, off int) string {
	if !k.directB {
		return fmt.Sprintf("%d(%s)", 128*u+off, base)
	}
	return fmt.Sprintf("%d(%s)%s", off, base, []string{"", "(R13*1)", "(R13*2)", "(R14*1)"}[u])
}

// advanceA moves the A pointers over steps (1 or 4) k columns: 4 bytes a
// column row-major (SI, R8, R9 alike), lda bytes (BX) a column p-major for
// SI. R8 and R9 are advanced in both layouts (p-major kernels ignore them).
func advanceA(a *asm, k gemmKernel, steps int, rowPtrs ...string) {
	switch {
	case !k.pmajor:
		a.op("ADDQ $%d, SI", 4*steps)
	case steps == 4:
		a.op("LEAQ (SI)(BX*4), SI")
	default:
		a.op("ADDQ BX, SI")
	}
	for _, r := range rowPtrs {
		a.op("ADDQ $%d, %s", 4*steps, r)
	}
}

// planSetup loads the caller's first prefetch plan (kernelAux.pf[0]):
// R12 = the plan, AX = next line, R10 = lines left in its current row,
// R11 = lines left in total (0: no prefetching).
func planSetup(a *asm, f goFunc) {
	a.op("MOVQ %s, R12", f.arg("aux"))
	a.op("MOVQ 0(R12), AX")
	a.op("MOVQ 8(R12), R10")
	a.op("MOVQ 32(R12), R11")
}

// planStep prefetches one line of the current plan into L2 and advances;
// when the plan is done it moves on to the next one (plans are 40 bytes:
// ptr, first, lines, jump, total).
func planStep(a *asm, label string) {
	a.op("TESTQ R11, R11")
	a.op("JEQ %s_done", label)
	a.op("PREFETCHT1 (AX)")
	a.op("ADDQ $64, AX")
	a.op("DECQ R10")
	a.op("JNE %s_row", label)
	a.op("ADDQ 24(R12), AX")
	a.op("MOVQ 16(R12), R10")
	a.label(label + "_row")
	a.op("DECQ R11")
	a.op("JNE %s_done", label)
	a.op("ADDQ $40, R12")
	a.op("MOVQ 0(R12), AX")
	a.op("MOVQ 8(R12), R10")
	a.op("MOVQ 32(R12), R11")
	a.label(label + "_done")
}

// zmmKernel writes a 14×32 AVX-512 kernel: 28 accumulators Z4–Z31 (row i
// in Z(4+2i), Z(5+2i)), the B row in Z0/Z1, broadcasts in Z2/Z3.
func zmmKernel(a *asm, k gemmKernel) {
	const mr, unroll = 14, 4
	f := k.fn
	l := func(name string) string { return k.label + name }
	acc := func(i, h int) string { return fmt.Sprintf("Z%d", 4+2*i+h) }
	a.text(f)
	a.op("MOVQ %s, CX", f.arg("k"))
	a.op("MOVQ %s, SI", f.arg("a"))
	a.op("MOVQ %s, BX", f.arg("lda"))
	a.op("SHLQ $2, BX")
	a.op("LEAQ (BX)(BX*2), DX")
	a.op("LEAQ (SI)(BX*4), R8")
	a.op("ADDQ BX, R8")
	a.op("LEAQ (R8)(BX*4), R9")
	a.op("ADDQ BX, R9")
	a.op("MOVQ %s, DI", f.arg("b"))
	if k.directB {
		a.op("MOVQ %s, R13", f.arg("ldb"))
		a.op("SHLQ $2, R13")
		a.op("LEAQ (R13)(R13*2), R14")
		a.op("MOVQ R13, R15")
		a.op("IMULQ $%d, R15", directBPrefetchRows)
		a.op("ADDQ DI, R15")
	}
	// Prefetch the C tile while the k loop runs, unless flagNoCPrefetch.
	a.op("TESTQ $8, %s", f.arg("flags"))
	a.op("JNE %s", l("nocpf"))
	a.op("MOVQ %s, R10", f.arg("c"))
	a.op("MOVQ %s, R11", f.arg("ldc"))
	a.op("SHLQ $2, R11")
	for i := range mr {
		a.op("PREFETCHT0 (R10)")
		a.op("PREFETCHT0 64(R10)")
		if i < mr-1 {
			a.op("ADDQ R11, R10")
		}
	}
	a.label(l("nocpf"))
	for i := range mr {
		a.op("VPXORD %s, %s, %s", acc(i, 0), acc(i, 0), acc(i, 0))
		a.op("VPXORD %s, %s, %s", acc(i, 1), acc(i, 1), acc(i, 1))
	}
	planSetup(a, f)
	// fma writes step u's 14 broadcasts and 28 FMAs.
	fma := func(u int) {
		for i := range mr {
			t := []string{"Z2", "Z3"}[i%2]
			a.op("VBROADCASTSS %s, %s", aRow(k, i, 4*u), t)
			a.op("VFMADD231PS Z0, %s, %s", t, acc(i, 0))
			a.op("VFMADD231PS Z1, %s, %s", t, acc(i, 1))
		}
	}
	a.op("SUBQ $%d, CX", unroll)
	a.op("JLT %s", l("tail"))
	a.label(l(fmt.Sprint("loop", unroll)))
	for u := range unroll {
		a.op("VMOVUPS %s, Z0", bRow(k, "DI", u, 0))
		a.op("VMOVUPS %s, Z1", bRow(k, "DI", u, 64))
		if k.directB {
			a.op("PREFETCHT0 %s", bRow(k, "R15", u, 0))
			a.op("PREFETCHT0 %s", bRow(k, "R15", u, 64))
		} else {
			a.op("PREFETCHT0 %d(DI)", bPrefetchAhead+128*u)
			a.op("PREFETCHT0 %d(DI)", bPrefetchAhead+128*u+64)
		}
		if u == 1 || u == 3 {
			planStep(a, l(fmt.Sprint("pf", u)))
		}
		fma(u)
	}
	advanceA(a, k, unroll, "R8", "R9")
	if k.directB {
		a.op("LEAQ (DI)(R13*4), DI")
		a.op("LEAQ (R15)(R13*4), R15")
	} else {
		a.op("ADDQ $%d, DI", 128*unroll)
	}
	a.op("SUBQ $%d, CX", unroll)
	a.op("JGE %s", l(fmt.Sprint("loop", unroll)))
	a.label(l("tail"))
	a.op("ADDQ $%d, CX", unroll)
	a.op("JEQ %s", l("done"))
	a.label(l("loop1"))
	a.op("VMOVUPS (DI), Z0")
	a.op("VMOVUPS 64(DI), Z1")
	fma(0)
	advanceA(a, k, 1, "R8", "R9")
	if k.directB {
		a.op("ADDQ R13, DI")
	} else {
		a.op("ADDQ $128, DI")
	}
	a.op("DECQ CX")
	a.op("JNE %s", l("loop1"))
	a.label(l("done"))
	a.op("MOVQ %s, R12", f.arg("flags"))
	epilogue(a, f, l, mr, "Z", 64, "VPXORD", acc)
	// C > 0 as bits: two 16-bit words per row at aux.mask + i·aux.ldm.
	a.op("TESTQ $4, R12")
	a.op("JEQ %s", l("nomask"))
	a.op("MOVQ %s, AX", f.arg("aux"))
	a.op("MOVQ 168(AX), BX")
	a.op("MOVQ 160(AX), AX")
	a.op("VPXORD Z2, Z2, Z2")
	for i := range mr {
		a.op("VCMPPS $0x11, %s, Z2, K1", acc(i, 0))
		a.op("VCMPPS $0x11, %s, Z2, K2", acc(i, 1))
		a.op("KMOVW K1, (AX)")
		a.op("KMOVW K2, 2(AX)")
		if i < mr-1 {
			a.op("ADDQ BX, AX")
		}
	}
	a.label(l("nomask"))
	storeTile(a, mr, 64, acc)
}

// ymmKernel writes a 6×16 AVX2 kernel: 12 accumulators Y4–Y15 (row i in
// Y(4+2i), Y(5+2i)), the B row in Y0/Y1, broadcasts in Y2/Y3.
func ymmKernel(a *asm, k gemmKernel) {
	const mr, unroll = 6, 4
	f := k.fn
	l := func(name string) string { return k.label + name }
	acc := func(i, h int) string { return fmt.Sprintf("Y%d", 4+2*i+h) }
	a.text(f)
	a.op("MOVQ %s, CX", f.arg("k"))
	a.op("MOVQ %s, SI", f.arg("a"))
	a.op("MOVQ %s, BX", f.arg("lda"))
	a.op("SHLQ $2, BX")
	a.op("LEAQ (BX)(BX*2), DX")
	a.op("LEAQ (SI)(BX*4), R8")
	a.op("ADDQ BX, R8")
	a.op("MOVQ %s, DI", f.arg("b"))
	// Prefetch the C tile (64 bytes a row: its first and last float).
	a.op("MOVQ %s, R10", f.arg("c"))
	a.op("MOVQ %s, R11", f.arg("ldc"))
	a.op("SHLQ $2, R11")
	for i := range mr {
		a.op("PREFETCHT0 (R10)")
		a.op("PREFETCHT0 60(R10)")
		if i < mr-1 {
			a.op("ADDQ R11, R10")
		}
	}
	for i := range mr {
		a.op("VXORPS %s, %s, %s", acc(i, 0), acc(i, 0), acc(i, 0))
		a.op("VXORPS %s, %s, %s", acc(i, 1), acc(i, 1), acc(i, 1))
	}
	planSetup(a, f)
	// step writes one k step: the B row at boff(DI), 6 broadcasts, 12 FMAs.
	step := func(u, boff int) {
		a.op("VMOVUPS %d(DI), Y0", boff)
		a.op("VMOVUPS %d(DI), Y1", boff+32)
		for i := range mr {
			t := []string{"Y2", "Y3"}[i%2]
			a.op("VBROADCASTSS %s, %s", aRow(k, i, 4*u), t)
			a.op("VFMADD231PS Y0, %s, %s", t, acc(i, 0))
			a.op("VFMADD231PS Y1, %s, %s", t, acc(i, 1))
		}
	}
	a.op("SUBQ $%d, CX", unroll)
	a.op("JLT %s", l("tail"))
	a.label(l(fmt.Sprint("loop", unroll)))
	for u := range unroll {
		step(u, 64*u)
		a.op("PREFETCHT0 %d(DI)", bPrefetchAhead+64*u)
		if u == 3 {
			planStep(a, l("pf"))
		}
	}
	advanceA(a, k, unroll, "R8")
	a.op("ADDQ $%d, DI", 64*unroll)
	a.op("SUBQ $%d, CX", unroll)
	a.op("JGE %s", l(fmt.Sprint("loop", unroll)))
	a.label(l("tail"))
	a.op("ADDQ $%d, CX", unroll)
	a.op("JEQ %s", l("done"))
	a.label(l("loop1"))
	step(0, 0)
	advanceA(a, k, 1, "R8")
	a.op("ADDQ $64, DI")
	a.op("DECQ CX")
	a.op("JNE %s", l("loop1"))
	a.label(l("done"))
	a.op("MOVQ %s, R12", f.arg("flags"))
	epilogue(a, f, l, mr, "Y", 32, "VXORPS", acc)
	storeTile(a, mr, 32, acc)
}

// epilogue applies beta·C, bias and ReLU to the accumulators, with R12 =
// flags, R10 = c, R11 = ldc bytes on exit. vbytes is the width of one
// register (two per tile row), zero the instruction that clears one.
func epilogue(a *asm, f goFunc, l func(string) string, mr int, reg string, vbytes int, zero string, acc func(i, h int) string) {
	a.op("MOVQ %s, R10", f.arg("c"))
	a.op("MOVQ %s, R11", f.arg("ldc"))
	a.op("SHLQ $2, R11")
	// beta·C
	a.op("TESTQ $1, R12")
	a.op("JEQ %s", l("nobeta"))
	a.op("VBROADCASTSS %s, %s2", f.arg("beta"), reg)
	for i := range mr {
		a.op("VFMADD231PS (R10), %s2, %s", reg, acc(i, 0))
		a.op("VFMADD231PS %d(R10), %s2, %s", vbytes, reg, acc(i, 1))
		a.op("ADDQ R11, R10")
	}
	a.op("MOVQ %s, R10", f.arg("c"))
	a.label(l("nobeta"))
	// + bias
	a.op("MOVQ %s, AX", f.arg("bias"))
	a.op("TESTQ AX, AX")
	a.op("JEQ %s", l("nobias"))
	a.op("VMOVUPS (AX), %s2", reg)
	a.op("VMOVUPS %d(AX), %s3", vbytes, reg)
	for i := range mr {
		a.op("VADDPS %s2, %s, %s", reg, acc(i, 0), acc(i, 0))
		a.op("VADDPS %s3, %s, %s", reg, acc(i, 1), acc(i, 1))
	}
	a.label(l("nobias"))
	// ReLU
	a.op("TESTQ $2, R12")
	a.op("JEQ %s", l("norelu"))
	a.op("%s %s2, %s2, %s2", zero, reg, reg, reg)
	for i := range mr {
		a.op("VMAXPS %s2, %s, %s", reg, acc(i, 0), acc(i, 0))
		a.op("VMAXPS %s2, %s, %s", reg, acc(i, 1), acc(i, 1))
	}
	a.label(l("norelu"))
}

// storeTile stores the accumulators to C (R10, row stride R11) and returns.
func storeTile(a *asm, mr, vbytes int, acc func(i, h int) string) {
	for i := range mr {
		a.op("VMOVUPS %s, (R10)", acc(i, 0))
		a.op("VMOVUPS %s, %d(R10)", acc(i, 1), vbytes)
		if i < mr-1 {
			a.op("ADDQ R11, R10")
		}
	}
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}
