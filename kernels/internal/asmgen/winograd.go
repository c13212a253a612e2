package main

import (
	"fmt"
	"math"
)

// The AVX-512 Winograd transforms of internal/winograd (transform_amd64.s),
// 16 channels per zmm register. internal/winograd/transform.go has the Go
// twins, the math and the layouts. Strides arrive in floats and are turned
// into bytes. Each routine loops over the channels in steps of 16 (BX is
// the byte offset of the current 16).

const (
	inputParams  = "src *float32, rowStride, colStride int, dst *float32, posStride, nc int"
	outputParams = "src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32"
)

var (
	inputF2Fn = goFunc{name: "inputF2AVX512", params: inputParams,
		doc: []string{"inputF2AVX512 is inputF2Go's 4×4 input transform V = Bᵀ·d·B on nc channels."}}
	outputF2Fn = goFunc{name: "outputF2AVX512", params: outputParams,
		doc: []string{"outputF2AVX512 is outputF2Go's 2×2 output transform Y = Aᵀ·M·A on nc channels."}}
	// The F4 transforms keep a 6×6 (input) or 4×6 (output) tile of zmm rows
	// on the stack.
	inputF4Fn = goFunc{name: "inputF4AVX512", params: inputParams, frame: 6 * 6 * 64, splits: true,
		doc: []string{"inputF4AVX512 is inputF4Go's 6×6 input transform V = Bᵀ·d·B on nc channels."}}
	outputF4Fn = goFunc{name: "outputF4AVX512", params: outputParams, frame: 4 * 6 * 64, splits: true,
		doc: []string{"outputF4AVX512 is outputF4Go's 4×4 output transform Y = Aᵀ·M·A on nc channels."}}
	comb3Fn = goFunc{name: "comb3AVX512", params: "dst, a, b, c *float32, n int, ga, gb, gc float32",
		asmNote: []string{"dst[x] = ga·a[x] + gb·b[x] + gc·c[x] for x < n (n a multiple of 16, > 0)."},
		doc:     []string{"comb3AVX512 sets dst[x] = ga·a[x] + gb·b[x] + gc·c[x] for x < n (n a", "positive multiple of 16); the kernel transform's inner loop."}}
)

// winoConsts are the constants the F4 transforms broadcast, at winoConst<>+4i.
var winoConsts = []float32{4, 5, 2, 8}

// z names zmm register i.
func z(i int) string { return fmt.Sprintf("Z%d", i) }

// zs names n consecutive zmm registers from first.
func zs(first, n int) []string {
	r := make([]string, n)
	for i := range r {
		r[i] = z(first + i)
	}
	return r
}

// four returns the addresses of four elements base + {0, 1, 2, 3}·s where
// s1 holds s and s3 holds 3s (bytes).
func four(base, s1, s3 string) []string {
	return []string{"(" + base + ")", fmt.Sprintf("(%s)(%s*1)", base, s1), fmt.Sprintf("(%s)(%s*2)", base, s1), fmt.Sprintf("(%s)(%s*1)", base, s3)}
}

// bt4 applies F2's Bᵀ: o0 = x0-x2, o1 = x1+x2, o2 = x2-x1, o3 = x1-x3.
func bt4(a *asm, x, o []string) {
	a.op("VSUBPS %s, %s, %s", x[2], x[0], o[0])
	a.op("VADDPS %s, %s, %s", x[2], x[1], o[1])
	a.op("VSUBPS %s, %s, %s", x[1], x[2], o[2])
	a.op("VSUBPS %s, %s, %s", x[3], x[1], o[3])
}

// bt6 applies F4's Bᵀ with temporaries Z12–Z15 and constants Z28 = 4,
// Z29 = 5, Z30 = 2:
//
//	t0 = x4-4x2, t1 = x3-4x1, t2 = x4-x2, t3 = x3-x1
//	o0 = x4+4x0-5x2, o1 = t1+t0, o2 = t0-t1, o3 = t2+2t3, o4 = t2-2t3, o5 = x5+4x1-5x3
func bt6(a *asm, x, o []string) {
	a.op("VMOVAPS %s, Z12", x[4])
	a.op("VFNMADD231PS %s, Z28, Z12", x[2])
	a.op("VMOVAPS %s, Z13", x[3])
	a.op("VFNMADD231PS %s, Z28, Z13", x[1])
	a.op("VSUBPS %s, %s, Z14", x[2], x[4])
	a.op("VSUBPS %s, %s, Z15", x[1], x[3])
	a.op("VMOVAPS %s, %s", x[4], o[0])
	a.op("VFMADD231PS %s, Z28, %s", x[0], o[0])
	a.op("VFNMADD231PS %s, Z29, %s", x[2], o[0])
	a.op("VMOVAPS %s, %s", x[5], o[5])
	a.op("VFMADD231PS %s, Z28, %s", x[1], o[5])
	a.op("VFNMADD231PS %s, Z29, %s", x[3], o[5])
	a.op("VADDPS Z12, Z13, %s", o[1])
	a.op("VSUBPS Z13, Z12, %s", o[2])
	a.op("VMOVAPS Z14, %s", o[3])
	a.op("VFMADD231PS Z15, Z30, %s", o[3])
	a.op("VMOVAPS Z14, %s", o[4])
	a.op("VFNMADD231PS Z15, Z30, %s", o[4])
}

// at6 applies F4's Aᵀ (6 → 4) with temporaries Z12–Z15 and constants
// Z28 = 4, Z30 = 2, Z31 = 8:
//
//	a = m1+m2, b = m1-m2, c = m3+m4, d = m3-m4
//	y0 = m0+a+c, y1 = b+2d, y2 = a+4c, y3 = b+8d+m5
func at6(a *asm, m, y []string) {
	a.op("VADDPS %s, %s, Z12", m[2], m[1])
	a.op("VSUBPS %s, %s, Z13", m[2], m[1])
	a.op("VADDPS %s, %s, Z14", m[4], m[3])
	a.op("VSUBPS %s, %s, Z15", m[4], m[3])
	a.op("VADDPS Z12, %s, %s", m[0], y[0])
	a.op("VADDPS Z14, %s, %s", y[0], y[0])
	a.op("VMOVAPS Z13, %s", y[1])
	a.op("VFMADD231PS Z15, Z30, %s", y[1])
	a.op("VMOVAPS Z12, %s", y[2])
	a.op("VFMADD231PS Z14, Z28, %s", y[2])
	a.op("VADDPS Z13, %s, %s", m[5], y[3])
	a.op("VFMADD231PS Z15, Z31, %s", y[3])
}

// at4col is F2's output column step: t0 = m0+m1+m2, t1 = m1-m2-m3.
func at4col(a *asm, m []string, t0, t1 string) {
	a.op("VADDPS %s, %s, %s", m[1], m[0], t0)
	a.op("VADDPS %s, %s, %s", m[2], t0, t0)
	a.op("VSUBPS %s, %s, %s", m[2], m[1], t1)
	a.op("VSUBPS %s, %s, %s", m[3], t1, t1)
}

// at4row is F2's output row step: y0 = t0+t1+t2, y1 = t1-t2-t3, then
// + bias (Z27) and max with the floor (Z26).
func at4row(a *asm, t []string, y0, y1 string) {
	a.op("VADDPS %s, %s, %s", t[1], t[0], y0)
	a.op("VADDPS %s, %s, %s", t[2], y0, y0)
	a.op("VSUBPS %s, %s, %s", t[2], t[1], y1)
	a.op("VSUBPS %s, %s, %s", t[3], y1, y1)
	a.op("VADDPS Z27, %s, %s", y0, y0)
	a.op("VADDPS Z27, %s, %s", y1, y1)
	a.op("VMAXPS %s, Z26, %s", y0, y0)
	a.op("VMAXPS %s, Z26, %s", y1, y1)
}

// loadArgs moves the named arguments into registers.
func loadArgs(a *asm, f goFunc, pairs ...string) {
	for i := 0; i < len(pairs); i += 2 {
		a.op("MOVQ %s, %s", f.arg(pairs[i]), pairs[i+1])
	}
}

// toBytes turns float counts into byte counts.
func toBytes(a *asm, regs ...string) {
	for _, r := range regs {
		a.op("SHLQ $2, %s", r)
	}
}

// channelLoopEnd closes the loop over 16-channel groups and returns.
func channelLoopEnd(a *asm, loop string) {
	a.blank()
	a.op("ADDQ $64, BX")
	a.op("CMPQ BX, CX")
	a.op("JLT  %s", loop)
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

// inputF2 transforms 4×4 input tiles: V = Bᵀ d B, 16 positions.
func inputF2(a *asm) {
	f := inputF2Fn
	a.text(f)
	loadArgs(a, f, "src", "SI", "rowStride", "R8", "colStride", "R9", "dst", "DI", "posStride", "R10", "nc", "CX")
	toBytes(a, "R8", "R9", "R10", "CX")
	a.op("LEAQ (R9)(R9*2), R12   // 3·colStride")
	a.op("LEAQ (R10*4), R14      // 4·posStride")
	a.op("LEAQ (R14)(R14*2), R15 // 12·posStride")
	a.op("XORQ BX, BX")
	a.blank()
	a.label("in2loop")
	a.op("// Load the 4×4 tile: d[i][j] = Z(4i+j).")
	a.op("LEAQ (SI)(BX*1), R11")
	for i := range 4 {
		if i > 0 {
			a.op("ADDQ R8, R11")
		}
		for j, addr := range four("R11", "R9", "R12") {
			a.op("VMOVUPS %s, %s", addr, z(4*i+j))
		}
	}
	a.blank()
	a.op("// Rows: r[i][·] = Bᵀ d[i][·]  → Z16+4i ..")
	for i := range 4 {
		bt4(a, zs(4*i, 4), zs(16+4*i, 4))
	}
	a.blank()
	a.op("// Columns: V[i][j] = (Bᵀ r[·][j])[i], stored at dst + (4i+j)·posStride.")
	a.op("LEAQ (DI)(BX*1), DX")
	for j := range 4 {
		if j > 0 {
			a.op("ADDQ R10, DX")
		}
		bt4(a, []string{z(16 + j), z(20 + j), z(24 + j), z(28 + j)}, zs(0, 4))
		for i, addr := range four("DX", "R14", "R15") {
			a.op("VMOVUPS %s, %s", z(i), addr)
		}
	}
	channelLoopEnd(a, "in2loop")
}

// outputF2 transforms 4×4 products back to 2×2 outputs: Y = Aᵀ M A + bias,
// clamped below at floor.
func outputF2(a *asm) {
	f := outputF2Fn
	a.text(f)
	loadArgs(a, f, "src", "SI", "posStride", "R10", "dst", "DI", "rowStride", "R8", "colStride", "R9", "nc", "CX", "bias", "AX")
	a.op("VBROADCASTSS %s, Z26", f.arg("floor"))
	toBytes(a, "R8", "R9", "R10", "CX")
	a.op("LEAQ (R10)(R10*2), R13 // 3·posStride")
	a.op("LEAQ (R10*4), R14      // 4·posStride")
	a.op("XORQ BX, BX")
	a.blank()
	a.label("out2loop")
	a.op("VMOVUPS (AX)(BX*1), Z27")
	a.op("// Load M: m[i][j] = Z(4i+j) from src + (4i+j)·posStride.")
	a.op("LEAQ (SI)(BX*1), R11")
	for i := range 4 {
		if i > 0 {
			a.op("ADDQ R14, R11")
		}
		for j, addr := range four("R11", "R10", "R13") {
			a.op("VMOVUPS %s, %s", addr, z(4*i+j))
		}
	}
	a.blank()
	a.op("// Columns: t[0][j] = Z16+j, t[1][j] = Z20+j.")
	for j := range 4 {
		at4col(a, []string{z(j), z(4 + j), z(8 + j), z(12 + j)}, z(16+j), z(20+j))
	}
	a.blank()
	a.op("// Rows: y[i][0..1], stored at dst + i·rowStride + jj·colStride.")
	a.op("LEAQ (DI)(BX*1), R11")
	for i := range 2 {
		if i > 0 {
			a.op("ADDQ R8, R11")
		}
		at4row(a, zs(16+4*i, 4), "Z24", "Z25")
		a.op("VMOVUPS Z24, (R11)")
		a.op("VMOVUPS Z25, (R11)(R9*1)")
	}
	channelLoopEnd(a, "out2loop")
}

// The F4 transforms go through a 6×6 (input) or 4×6 (output) tile of zmm
// rows on the stack: tmp[i][j] at i·384 + j·64 from AX.

// inputF4 transforms 6×6 input tiles: rows first (pixels → tmp), then
// columns (tmp → V[i][j] at dst + (6i+j)·posStride).
func inputF4(a *asm) {
	f := inputF4Fn
	a.text(f)
	loadArgs(a, f, "src", "SI", "rowStride", "R8", "colStride", "R9", "dst", "DI", "posStride", "R10", "nc", "CX")
	toBytes(a, "R8", "R9", "R10", "CX")
	a.op("LEAQ (R9)(R9*2), R12   // 3·colStride")
	a.op("LEAQ (R9)(R9*4), R13   // 5·colStride")
	a.op("LEAQ (R10)(R10*2), R14")
	a.op("SHLQ $1, R14           // 6·posStride")
	a.op("LEAQ (R14)(R14*2), R15 // 18·posStride")
	for _, c := range []int{0, 1, 2} { // 4, 5, 2
		a.op("VBROADCASTSS winoConst<>+%d(SB), %s", 4*c, z(28+c))
	}
	a.op("XORQ BX, BX")
	a.blank()
	a.label("in4loop")
	a.op("LEAQ (SI)(BX*1), R11")
	a.op("LEAQ 0(SP), AX")
	for range 6 { // row step: 6 pixels of the tile row at R11, Bᵀ, to tmp row AX
		pixels := append(four("R11", "R9", "R12"), "(R11)(R9*4)", "(R11)(R13*1)")
		for j, addr := range pixels {
			a.op("VMOVUPS %s, %s", addr, z(j))
		}
		bt6(a, zs(0, 6), zs(6, 6))
		for j := range 6 {
			a.op("VMOVUPS %s, %d(AX)", z(6+j), 64*j)
		}
		a.op("ADDQ R8, R11")
		a.op("ADDQ $384, AX")
	}
	a.op("LEAQ (DI)(BX*1), DX")
	a.op("LEAQ 0(SP), AX")
	for range 6 { // column step j: tmp[0..5][j], Bᵀ, to V[i][j] at DX + 6i·posStride
		for i := range 6 {
			a.op("VMOVUPS %d(AX), %s", 384*i, z(i))
		}
		bt6(a, zs(0, 6), zs(6, 6))
		a.op("LEAQ (DX)(R15*1), R11")
		outs := []string{"(DX)", "(DX)(R14*1)", "(DX)(R14*2)", "(R11)", "(R11)(R14*1)", "(R11)(R14*2)"}
		for i, addr := range outs {
			a.op("VMOVUPS %s, %s", z(6+i), addr)
		}
		a.op("ADDQ R10, DX")
		a.op("ADDQ $64, AX")
	}
	channelLoopEnd(a, "in4loop")
}

// outputF4 transforms 6×6 products back to 4×4 outputs: columns first
// (M → tmp), then rows (tmp → y, + bias, max floor).
//
// M is read as 36 streams, more than the hardware prefetchers track, so
// each is prefetched 4 chunks (256 bytes) ahead (BenchmarkWinograd, F4 on
// block1_conv2 and block3_conv2; prefetching the input rows did not help).
func outputF4(a *asm) {
	f := outputF4Fn
	a.text(f)
	loadArgs(a, f, "src", "SI", "posStride", "R10", "dst", "DI", "rowStride", "R8", "colStride", "R9", "nc", "CX", "bias", "DX")
	a.op("VBROADCASTSS %s, Z26", f.arg("floor"))
	toBytes(a, "R8", "R9", "R10", "CX")
	a.op("LEAQ (R9)(R9*2), R12   // 3·colStride")
	a.op("LEAQ (R10)(R10*2), R14")
	a.op("SHLQ $1, R14           // 6·posStride")
	a.op("LEAQ (R14)(R14*2), R15 // 18·posStride")
	for _, c := range []int{0, 2, 3} { // 4, 2, 8
		a.op("VBROADCASTSS winoConst<>+%d(SB), %s", 4*c, z(28+c))
	}
	a.op("XORQ BX, BX")
	a.blank()
	a.label("out4loop")
	a.op("VMOVUPS (DX)(BX*1), Z27")
	a.op("LEAQ (SI)(BX*1), R11")
	a.op("LEAQ 0(SP), AX")
	for range 6 { // column step j: M[0..5][j] from R11 + 6i·posStride, Aᵀ, to tmp[0..3][j]
		a.op("LEAQ (R11)(R15*1), R13")
		ms := []string{"(R11)", "(R11)(R14*1)", "(R11)(R14*2)", "(R13)", "(R13)(R14*1)", "(R13)(R14*2)"}
		for _, addr := range ms {
			a.op("PREFETCHT0 256%s", addr)
		}
		for i, addr := range ms {
			a.op("VMOVUPS %s, %s", addr, z(i))
		}
		at6(a, zs(0, 6), zs(6, 4))
		for i := range 4 {
			a.op("VMOVUPS %s, %d(AX)", z(6+i), 384*i)
		}
		a.op("ADDQ R10, R11")
		a.op("ADDQ $64, AX")
	}
	a.op("LEAQ (DI)(BX*1), R11")
	a.op("LEAQ 0(SP), AX")
	for range 4 { // row step i: tmp[i][0..5], Aᵀ, + bias, max floor, to y[i][jj] at R11 + jj·colStride
		for j := range 6 {
			a.op("VMOVUPS %d(AX), %s", 64*j, z(j))
		}
		at6(a, zs(0, 6), zs(6, 4))
		for _, r := range zs(6, 4) {
			a.op("VADDPS Z27, %s, %s", r, r)
		}
		for _, r := range zs(6, 4) {
			a.op("VMAXPS %s, Z26, %s", r, r)
		}
		for jj, addr := range four("R11", "R9", "R12") {
			a.op("VMOVUPS %s, %s", z(6+jj), addr)
		}
		a.op("ADDQ R8, R11")
		a.op("ADDQ $384, AX")
	}
	channelLoopEnd(a, "out4loop")
}

func comb3(a *asm) {
	f := comb3Fn
	a.text(f)
	loadArgs(a, f, "dst", "DI", "a", "SI", "b", "DX", "c", "R8", "n", "CX")
	for i, g := range []string{"ga", "gb", "gc"} {
		a.op("VBROADCASTSS %s, Z%d", f.arg(g), i)
	}
	a.op("SHLQ $2, CX")
	a.op("XORQ BX, BX")
	a.blank()
	a.label("comb3loop")
	a.op("VMULPS      (SI)(BX*1), Z0, Z3")
	a.op("VFMADD231PS (DX)(BX*1), Z1, Z3")
	a.op("VFMADD231PS (R8)(BX*1), Z2, Z3")
	a.op("VMOVUPS     Z3, (DI)(BX*1)")
	a.op("ADDQ        $64, BX")
	a.op("CMPQ        BX, CX")
	a.op("JLT         comb3loop")
	a.op("VZEROUPPER")
	a.op("RET")
}

// winoConstData writes the constant table.
func winoConstData(a *asm) {
	for i, c := range winoConsts {
		a.line("DATA winoConst<>+%d(SB)/4, $0x%08x // %g", 4*i, math.Float32bits(c), c)
	}
	a.line("GLOBL winoConst<>(SB), RODATA|NOPTR, $%d", 4*len(winoConsts))
	a.blank()
}
