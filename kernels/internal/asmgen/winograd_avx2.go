package main

import "fmt"

// The AVX2 Winograd transforms of internal/winograd (transform_amd64.s), 8
// channels per ymm register: the AVX-512 routines of winograd.go rewritten
// for 16 vector registers. The 4×4 input tile and the F4 tiles go through a
// stack tile of ymm rows; the Bᵀ/Aᵀ steps work partly in place so that
// inputs, outputs, temporaries and constants fit in Y0–Y15. Memory
// operands are the r/m (first) operand of each FMA, the product commuting.

var (
	inputF2AVX2Fn = goFunc{name: "inputF2AVX2", params: inputParams, frame: 4 * 4 * 32, splits: true,
		doc: []string{"inputF2AVX2 is inputF2AVX512 with 8 channels per ymm (nc a multiple of 8)."}}
	outputF2AVX2Fn = goFunc{name: "outputF2AVX2", params: outputParams,
		doc: []string{"outputF2AVX2 is outputF2AVX512 with 8 channels per ymm (nc a multiple of 8)."}}
	inputF4AVX2Fn = goFunc{name: "inputF4AVX2", params: inputParams, frame: 6 * 6 * 32, splits: true,
		doc: []string{"inputF4AVX2 is inputF4AVX512 with 8 channels per ymm (nc a multiple of 8)."}}
	outputF4AVX2Fn = goFunc{name: "outputF4AVX2", params: outputParams, frame: 4 * 6 * 32, splits: true,
		doc: []string{"outputF4AVX2 is outputF4AVX512 with 8 channels per ymm (nc a multiple of 8)."}}
	comb3AVX2Fn = goFunc{name: "comb3AVX2", params: "dst, a, b, c *float32, n int, ga, gb, gc float32",
		doc: []string{"comb3AVX2 is comb3AVX512 with 8 floats per ymm (n a positive multiple of 8)."}}
)

// y names ymm register i.
func y(i int) string { return fmt.Sprintf("Y%d", i) }

// ys names n consecutive ymm registers from first.
func ys(first, n int) []string {
	r := make([]string, n)
	for i := range r {
		r[i] = y(first + i)
	}
	return r
}

// bt4y is bt4 on ymm registers (x and o distinct).
func bt4y(a *asm, x, o []string) {
	a.op("VSUBPS %s, %s, %s", x[2], x[0], o[0])
	a.op("VADDPS %s, %s, %s", x[2], x[1], o[1])
	a.op("VSUBPS %s, %s, %s", x[1], x[2], o[2])
	a.op("VSUBPS %s, %s, %s", x[3], x[1], o[3])
}

// bt6y applies F4's Bᵀ to x = Y0–Y5 with constants Y13 = 4, Y14 = 5,
// Y15 = 2, temporaries Y6–Y9 (t0–t3 of bt6), overwriting the inputs as
// they die. It returns the registers of o0..o5: Y10, Y0, Y1, Y2, Y3, Y5.
func bt6y(a *asm) []string {
	a.op("VMOVAPS Y4, Y6")
	a.op("VFNMADD231PS Y2, Y13, Y6 // t0 = x4-4x2")
	a.op("VMOVAPS Y3, Y7")
	a.op("VFNMADD231PS Y1, Y13, Y7 // t1 = x3-4x1")
	a.op("VSUBPS Y2, Y4, Y8        // t2 = x4-x2")
	a.op("VSUBPS Y1, Y3, Y9        // t3 = x3-x1")
	a.op("VMOVAPS Y4, Y10")
	a.op("VFMADD231PS Y0, Y13, Y10")
	a.op("VFNMADD231PS Y2, Y14, Y10 // o0 = x4+4x0-5x2")
	a.op("VFMADD231PS Y1, Y13, Y5")
	a.op("VFNMADD231PS Y3, Y14, Y5  // o5 = x5+4x1-5x3")
	a.op("VADDPS Y6, Y7, Y0         // o1 = t1+t0")
	a.op("VSUBPS Y7, Y6, Y1         // o2 = t0-t1")
	a.op("VMOVAPS Y8, Y2")
	a.op("VFMADD231PS Y9, Y15, Y2   // o3 = t2+2t3")
	a.op("VMOVAPS Y8, Y3")
	a.op("VFNMADD231PS Y9, Y15, Y3  // o4 = t2-2t3")
	return []string{"Y10", "Y0", "Y1", "Y2", "Y3", "Y5"}
}

// at6y applies F4's Aᵀ to m = Y0–Y5 with constants Y10 = 4, Y11 = 2,
// Y12 = 8 and temporaries Y6–Y9 (a–d of at6), in place. It returns the
// registers of y0..y3: Y0, Y1, Y2, Y5.
func at6y(a *asm) []string {
	a.op("VADDPS Y2, Y1, Y6 // a = m1+m2")
	a.op("VSUBPS Y2, Y1, Y7 // b = m1-m2")
	a.op("VADDPS Y4, Y3, Y8 // c = m3+m4")
	a.op("VSUBPS Y4, Y3, Y9 // d = m3-m4")
	a.op("VADDPS Y6, Y0, Y0")
	a.op("VADDPS Y8, Y0, Y0 // y0 = m0+a+c")
	a.op("VMOVAPS Y7, Y1")
	a.op("VFMADD231PS Y9, Y11, Y1 // y1 = b+2d")
	a.op("VMOVAPS Y6, Y2")
	a.op("VFMADD231PS Y8, Y10, Y2 // y2 = a+4c")
	a.op("VADDPS Y7, Y5, Y5")
	a.op("VFMADD231PS Y9, Y12, Y5 // y3 = m5+b+8d")
	return []string{"Y0", "Y1", "Y2", "Y5"}
}

// channelLoopEndY closes the loop over 8-channel groups and returns.
func channelLoopEndY(a *asm, loop string) {
	a.blank()
	a.op("ADDQ $32, BX")
	a.op("CMPQ BX, CX")
	a.op("JLT  %s", loop)
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

// inputF2AVX2 transforms 4×4 input tiles: rows (pixels → tmp[i][j] at
// i·128 + j·32 from AX), then columns (tmp → V[i][j] at dst + (4i+j)·posStride).
func inputF2AVX2(a *asm) {
	f := inputF2AVX2Fn
	a.text(f)
	loadArgs(a, f, "src", "SI", "rowStride", "R8", "colStride", "R9", "dst", "DI", "posStride", "R10", "nc", "CX")
	toBytes(a, "R8", "R9", "R10", "CX")
	a.op("LEAQ (R9)(R9*2), R12   // 3·colStride")
	a.op("LEAQ (R10*4), R14      // 4·posStride")
	a.op("LEAQ (R14)(R14*2), R15 // 12·posStride")
	a.op("XORQ BX, BX")
	a.blank()
	a.label("in2yloop")
	a.op("LEAQ (SI)(BX*1), R11")
	a.op("LEAQ 0(SP), AX")
	for range 4 { // row step: Bᵀ of tile row at R11 → tmp row AX
		for j, addr := range four("R11", "R9", "R12") {
			a.op("VMOVUPS %s, %s", addr, y(j))
		}
		bt4y(a, ys(0, 4), ys(4, 4))
		for j := range 4 {
			a.op("VMOVUPS %s, %d(AX)", y(4+j), 32*j)
		}
		a.op("ADDQ R8, R11")
		a.op("ADDQ $128, AX")
	}
	a.op("LEAQ (DI)(BX*1), DX")
	a.op("LEAQ 0(SP), AX")
	for range 4 { // column step j: tmp[0..3][j], Bᵀ, to V[i][j] at DX + 4i·posStride
		for i := range 4 {
			a.op("VMOVUPS %d(AX), %s", 128*i, y(i))
		}
		bt4y(a, ys(0, 4), ys(4, 4))
		for i, addr := range four("DX", "R14", "R15") {
			a.op("VMOVUPS %s, %s", y(4+i), addr)
		}
		a.op("ADDQ R10, DX")
		a.op("ADDQ $32, AX")
	}
	channelLoopEndY(a, "in2yloop")
}

// outputF2AVX2 transforms 4×4 products back to 2×2 outputs: columns
// (t[0][j] = Y4+j, t[1][j] = Y8+j), then rows + bias (Y12), max floor (Y13).
func outputF2AVX2(a *asm) {
	f := outputF2AVX2Fn
	a.text(f)
	loadArgs(a, f, "src", "SI", "posStride", "R10", "dst", "DI", "rowStride", "R8", "colStride", "R9", "nc", "CX", "bias", "AX")
	a.op("VBROADCASTSS %s, Y13", f.arg("floor"))
	toBytes(a, "R8", "R9", "R10", "CX")
	a.op("LEAQ (R10*4), R14      // 4·posStride")
	a.op("LEAQ (R14)(R14*2), R15 // 12·posStride")
	a.op("XORQ BX, BX")
	a.blank()
	a.label("out2yloop")
	a.op("VMOVUPS (AX)(BX*1), Y12")
	a.op("LEAQ (SI)(BX*1), R11")
	for j := range 4 { // column j: m[0..3][j] at R11 + 4i·posStride
		if j > 0 {
			a.op("ADDQ R10, R11")
		}
		for i, addr := range four("R11", "R14", "R15") {
			a.op("VMOVUPS %s, %s", addr, y(i))
		}
		a.op("VADDPS Y1, Y0, %s", y(4+j))
		a.op("VADDPS Y2, %s, %s", y(4+j), y(4+j))
		a.op("VSUBPS Y2, Y1, %s", y(8+j))
		a.op("VSUBPS Y3, %s, %s", y(8+j), y(8+j))
	}
	a.op("LEAQ (DI)(BX*1), R11")
	for i := range 2 {
		if i > 0 {
			a.op("ADDQ R8, R11")
		}
		t := ys(4+4*i, 4)
		a.op("VADDPS %s, %s, Y0", t[1], t[0])
		a.op("VADDPS %s, Y0, Y0", t[2])
		a.op("VSUBPS %s, %s, Y1", t[2], t[1])
		a.op("VSUBPS %s, Y1, Y1", t[3])
		a.op("VADDPS Y12, Y0, Y0")
		a.op("VADDPS Y12, Y1, Y1")
		a.op("VMAXPS Y0, Y13, Y0")
		a.op("VMAXPS Y1, Y13, Y1")
		a.op("VMOVUPS Y0, (R11)")
		a.op("VMOVUPS Y1, (R11)(R9*1)")
	}
	channelLoopEndY(a, "out2yloop")
}

// inputF4AVX2 is inputF4 with tmp[i][j] at i·192 + j·32 from AX.
func inputF4AVX2(a *asm) {
	f := inputF4AVX2Fn
	a.text(f)
	loadArgs(a, f, "src", "SI", "rowStride", "R8", "colStride", "R9", "dst", "DI", "posStride", "R10", "nc", "CX")
	toBytes(a, "R8", "R9", "R10", "CX")
	a.op("LEAQ (R9)(R9*2), R12   // 3·colStride")
	a.op("LEAQ (R9)(R9*4), R13   // 5·colStride")
	a.op("LEAQ (R10)(R10*2), R14")
	a.op("SHLQ $1, R14           // 6·posStride")
	a.op("LEAQ (R14)(R14*2), R15 // 18·posStride")
	for i, c := range []int{0, 1, 2} { // 4, 5, 2
		a.op("VBROADCASTSS winoConst<>+%d(SB), %s", 4*c, y(13+i))
	}
	a.op("XORQ BX, BX")
	a.blank()
	a.label("in4yloop")
	a.op("LEAQ (SI)(BX*1), R11")
	a.op("LEAQ 0(SP), AX")
	for range 6 {
		pixels := append(four("R11", "R9", "R12"), "(R11)(R9*4)", "(R11)(R13*1)")
		for j, addr := range pixels {
			a.op("VMOVUPS %s, %s", addr, y(j))
		}
		for j, r := range bt6y(a) {
			a.op("VMOVUPS %s, %d(AX)", r, 32*j)
		}
		a.op("ADDQ R8, R11")
		a.op("ADDQ $192, AX")
	}
	a.op("LEAQ (DI)(BX*1), DX")
	a.op("LEAQ 0(SP), AX")
	for range 6 {
		for i := range 6 {
			a.op("VMOVUPS %d(AX), %s", 192*i, y(i))
		}
		o := bt6y(a)
		a.op("LEAQ (DX)(R15*1), R11")
		outs := []string{"(DX)", "(DX)(R14*1)", "(DX)(R14*2)", "(R11)", "(R11)(R14*1)", "(R11)(R14*2)"}
		for i, addr := range outs {
			a.op("VMOVUPS %s, %s", o[i], addr)
		}
		a.op("ADDQ R10, DX")
		a.op("ADDQ $32, AX")
	}
	channelLoopEndY(a, "in4yloop")
}

// outputF4AVX2 is outputF4 with tmp[i][j] at i·192 + j·32 from AX, bias in
// Y13 and the floor in Y14. The prefetch distance stays 256 bytes (8 chunks).
func outputF4AVX2(a *asm) {
	f := outputF4AVX2Fn
	a.text(f)
	loadArgs(a, f, "src", "SI", "posStride", "R10", "dst", "DI", "rowStride", "R8", "colStride", "R9", "nc", "CX", "bias", "DX")
	a.op("VBROADCASTSS %s, Y14", f.arg("floor"))
	toBytes(a, "R8", "R9", "R10", "CX")
	a.op("LEAQ (R9)(R9*2), R12   // 3·colStride")
	a.op("LEAQ (R10)(R10*2), R14")
	a.op("SHLQ $1, R14           // 6·posStride")
	a.op("LEAQ (R14)(R14*2), R15 // 18·posStride")
	for i, c := range []int{0, 2, 3} { // 4, 2, 8
		a.op("VBROADCASTSS winoConst<>+%d(SB), %s", 4*c, y(10+i))
	}
	a.op("XORQ BX, BX")
	a.blank()
	a.label("out4yloop")
	a.op("VMOVUPS (DX)(BX*1), Y13")
	a.op("LEAQ (SI)(BX*1), R11")
	a.op("LEAQ 0(SP), AX")
	for range 6 {
		a.op("LEAQ (R11)(R15*1), R13")
		ms := []string{"(R11)", "(R11)(R14*1)", "(R11)(R14*2)", "(R13)", "(R13)(R14*1)", "(R13)(R14*2)"}
		for _, addr := range ms {
			a.op("PREFETCHT0 256%s", addr)
		}
		for i, addr := range ms {
			a.op("VMOVUPS %s, %s", addr, y(i))
		}
		for i, r := range at6y(a) {
			a.op("VMOVUPS %s, %d(AX)", r, 192*i)
		}
		a.op("ADDQ R10, R11")
		a.op("ADDQ $32, AX")
	}
	a.op("LEAQ (DI)(BX*1), R11")
	a.op("LEAQ 0(SP), AX")
	for range 4 {
		for j := range 6 {
			a.op("VMOVUPS %d(AX), %s", 32*j, y(j))
		}
		out := at6y(a)
		for _, r := range out {
			a.op("VADDPS Y13, %s, %s", r, r)
		}
		for _, r := range out {
			a.op("VMAXPS %s, Y14, %s", r, r)
		}
		for jj, addr := range four("R11", "R9", "R12") {
			a.op("VMOVUPS %s, %s", out[jj], addr)
		}
		a.op("ADDQ R8, R11")
		a.op("ADDQ $192, AX")
	}
	channelLoopEndY(a, "out4yloop")
}

func comb3AVX2(a *asm) {
	f := comb3AVX2Fn
	a.text(f)
	loadArgs(a, f, "dst", "DI", "a", "SI", "b", "DX", "c", "R8", "n", "CX")
	for i, g := range []string{"ga", "gb", "gc"} {
		a.op("VBROADCASTSS %s, Y%d", f.arg(g), i)
	}
	a.op("SHLQ $2, CX")
	a.op("XORQ BX, BX")
	a.blank()
	a.label("comb3yloop")
	a.op("VMULPS      (SI)(BX*1), Y0, Y3")
	a.op("VFMADD231PS (DX)(BX*1), Y1, Y3")
	a.op("VFMADD231PS (R8)(BX*1), Y2, Y3")
	a.op("VMOVUPS     Y3, (DI)(BX*1)")
	a.op("ADDQ        $32, BX")
	a.op("CMPQ        BX, CX")
	a.op("JLT         comb3yloop")
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}
