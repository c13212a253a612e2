package main

import "fmt"

// The packing routines (kernels/pack_amd64.s; layouts in kernels/pack.go).

// packBPanels is the B panel packing of one micro-panel width nr: for
// p < kc, q < panels, copy the nr floats src[p*ldb + q*nr :] to
// dst[q*kc*nr + p*nr :]. Source rows are read in order, so the hardware
// prefetcher sees one stream per row.
type packBPanels struct {
	nr    int    // floats per micro-panel row: 32 (AVX-512) or 16 (AVX2), copied with ymm moves
	label string // label prefix
}

var packBVariants = []packBPanels{{nr: 32, label: "p32"}, {nr: 16, label: "p16"}}

func (v packBPanels) fn() goFunc {
	return goFunc{name: fmt.Sprintf("packBPanels%d", v.nr), params: "dst, src *float32, ldb, kc, panels int",
		doc: []string{fmt.Sprintf("packBPanels%d packs whole %d-column micro-panels of a non-transposed B", v.nr, v.nr),
			fmt.Sprintf("(see kernelLevel.packB): dst[q*kc*%d+p*%d:][:%d] = src[p*ldb+q*%d:][:%d].", v.nr, v.nr, v.nr, v.nr, v.nr)}}
}

func packB(a *asm, v packBPanels) {
	f := v.fn()
	rowBytes := 4 * v.nr
	shift := 0 // log2(rowBytes): the panel stride kc·rowBytes is kc << shift
	for 1<<shift < rowBytes {
		shift++
	}
	l := func(name string) string { return v.label + "_" + name }
	a.text(f)
	a.op("MOVQ %s, DI", f.arg("dst"))
	a.op("MOVQ %s, SI", f.arg("src"))
	a.op("MOVQ %s, BX", f.arg("ldb"))
	a.op("SHLQ $2, BX")
	a.op("MOVQ %s, CX", f.arg("kc"))
	a.op("MOVQ %s, DX", f.arg("panels"))
	a.op("MOVQ CX, R8")
	a.op("SHLQ $%d, R8 // panel stride: kc*%d*4 bytes", shift, v.nr)
	a.op("TESTQ CX, CX")
	a.op("JEQ  %s", l("done"))
	a.op("TESTQ DX, DX")
	a.op("JEQ  %s", l("done"))
	a.label(l("row")) // source row p: R11 walks its panels, R10 the destination panels
	a.op("MOVQ DI, R10")
	a.op("MOVQ SI, R11")
	a.op("MOVQ DX, R12")
	a.label(l("col"))
	regs := v.nr / 8
	for i := range regs {
		a.op("VMOVUPS %s, Y%d", width{n: 1, bytes: 32}.at("R11", i), i)
	}
	for i := range regs {
		a.op("VMOVUPS Y%d, %s", i, width{n: 1, bytes: 32}.at("R10", i))
	}
	a.op("ADDQ $%d, R11", rowBytes)
	a.op("ADDQ R8, R10")
	a.op("DECQ R12")
	a.op("JNE  %s", l("col"))
	a.op("ADDQ BX, SI")
	a.op("ADDQ $%d, DI", rowBytes)
	a.op("DECQ CX")
	a.op("JNE  %s", l("row"))
	a.label(l("done"))
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

const packATParams = "dst, src *float32, lda, kc, rows, mr int"

var packATAVX512Fn = goFunc{name: "packATAVX512", params: packATParams,
	doc: []string{"packATAVX512 and packATAVX2 pack a transposed A into the p-major layout (Go", "twin packATGo): for p < kc, dst[p*mr:][:mr] = src[p*lda:][:rows] then zeros."}}

var packATAVX2Fn = goFunc{name: "packATAVX2", params: packATParams,
	doc: []string{"packATAVX2 is packATAVX512 with AVX2 lane masks (mr ≤ 8)."}}

// packATAVX512 copies each row under two lane masks: K1 loads rows lanes
// (masked loads never touch the floats past rows, so reading at the
// matrix edge is safe), K2 stores mr lanes (the zeros included).
func packATAVX512(a *asm) {
	f := packATAVX512Fn
	a.text(f)
	a.op("MOVQ %s, DI", f.arg("dst"))
	a.op("MOVQ %s, SI", f.arg("src"))
	a.op("MOVQ %s, BX", f.arg("lda"))
	a.op("SHLQ $2, BX")
	a.op("MOVQ %s, CX", f.arg("rows"))
	a.op("MOVL $1, R8")
	a.op("SHLL CX, R8")
	a.op("DECL R8")
	a.op("KMOVW R8, K1 // load mask: rows lanes")
	a.op("MOVQ %s, CX", f.arg("mr"))
	a.op("MOVL $1, R9")
	a.op("SHLL CX, R9")
	a.op("DECL R9")
	a.op("KMOVW R9, K2 // store mask: mr lanes")
	a.op("MOVQ CX, DX")
	a.op("SHLQ $2, DX // dst step: mr floats")
	a.op("MOVQ %s, CX", f.arg("kc"))
	a.op("TESTQ CX, CX")
	a.op("JEQ  pat512_done")
	a.label("pat512_loop")
	a.op("PREFETCHT0 (SI)(BX*8)")
	a.op("VMOVUPS.Z (SI), K1, Z0")
	a.op("VMOVUPS Z0, K2, (DI)")
	a.op("ADDQ BX, SI")
	a.op("ADDQ DX, DI")
	a.op("DECQ CX")
	a.op("JNE  pat512_loop")
	a.label("pat512_done")
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

// laneMasks writes the AVX2 lane-mask table: laneMasks<>+4·(8-n) holds the
// mask of the first n of 8 lanes (eight all-ones words, then eight zeros).
func laneMasks(a *asm) {
	a.comment("laneMasks<>+4·(8-n) holds the AVX2 lane mask of the first n of 8 lanes.")
	for i := range 8 {
		v := "$0xffffffffffffffff"
		if i >= 4 {
			v = "$0"
		}
		a.line("DATA laneMasks<>+%d(SB)/8, %s", 8*i, v)
	}
	a.line("GLOBL laneMasks<>(SB), RODATA|NOPTR, $64")
	a.blank()
}

// packATAVX2 is packATAVX512 with VMASKMOVPS under lane masks from the
// laneMasks table.
func packATAVX2(a *asm) {
	f := packATAVX2Fn
	a.text(f)
	a.op("MOVQ %s, DI", f.arg("dst"))
	a.op("MOVQ %s, SI", f.arg("src"))
	a.op("MOVQ %s, BX", f.arg("lda"))
	a.op("SHLQ $2, BX")
	a.op("LEAQ laneMasks<>(SB), R8")
	a.op("MOVQ $8, AX")
	a.op("SUBQ %s, AX", f.arg("rows"))
	a.op("VMOVDQU (R8)(AX*4), Y1 // load mask: rows lanes")
	a.op("MOVQ $8, AX")
	a.op("MOVQ %s, DX", f.arg("mr"))
	a.op("SUBQ DX, AX")
	a.op("VMOVDQU (R8)(AX*4), Y2 // store mask: mr lanes")
	a.op("SHLQ $2, DX")
	a.op("MOVQ %s, CX", f.arg("kc"))
	a.op("TESTQ CX, CX")
	a.op("JEQ  pat2_done")
	a.label("pat2_loop")
	a.op("PREFETCHT0 (SI)(BX*8)")
	a.op("VMASKMOVPS (SI), Y1, Y0")
	a.op("VMASKMOVPS Y0, Y2, (DI)")
	a.op("ADDQ BX, SI")
	a.op("ADDQ DX, DI")
	a.op("DECQ CX")
	a.op("JNE  pat2_loop")
	a.label("pat2_done")
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

var packBT32Fn = goFunc{name: "packBT32AVX512", params: "dst, src *float32, ldb, kc, panels int",
	doc: []string{"packBT32AVX512 packs whole 32-column micro-panels of a transposed B (stored", "n×k) with gathers (Go twin packBTGo): for q < panels, p < kc, jj < 32,", "dst[q*kc*32+p*32+jj] = src[(q*32+jj)*ldb+p]."}}

// packBT32 gathers, for each p, column jj of the 32 source rows of a
// panel: two 16-lane gathers with row offsets jj·ldb (Z0) and (16+jj)·ldb
// (Z1). The 32 source rows stay in L1 across the p loop (each line serves
// 16 p's).
func packBT32(a *asm) {
	f := packBT32Fn
	a.comment("packbt_iota<> is 0, 1, ..., 15 as int32: the lane numbers.")
	for i := range 16 {
		a.line("DATA packbt_iota<>+%d(SB)/4, $%d", 4*i, i)
	}
	a.line("GLOBL packbt_iota<>(SB), RODATA, $64")
	a.blank()
	a.text(f)
	a.op("MOVQ %s, DI", f.arg("dst"))
	a.op("MOVQ %s, SI", f.arg("src"))
	a.op("MOVQ %s, BX", f.arg("ldb"))
	a.op("MOVQ %s, CX", f.arg("kc"))
	a.op("MOVQ %s, DX", f.arg("panels"))
	a.op("TESTQ CX, CX")
	a.op("JEQ  pbt_done")
	a.op("TESTQ DX, DX")
	a.op("JEQ  pbt_done")
	a.op("VPBROADCASTD BX, Z4")
	a.op("VMOVDQU32 packbt_iota<>(SB), Z5")
	a.op("VPMULLD Z4, Z5, Z0 // Z0 = jj*ldb, jj < 16")
	a.op("VPSLLD $4, Z4, Z6 // 16*ldb")
	a.op("VPADDD Z6, Z0, Z1 // Z1 = (16+jj)*ldb")
	a.op("MOVQ BX, R9")
	a.op("SHLQ $7, R9 // panel source stride: 32*ldb*4 bytes")
	a.label("pbt_panel")
	a.op("MOVQ SI, R11")
	a.op("MOVQ CX, R12")
	a.label("pbt_p")
	a.op("KXNORW K1, K1, K1")
	a.op("KXNORW K2, K2, K2")
	a.op("VGATHERDPS (R11)(Z0*4), K1, Z2")
	a.op("VGATHERDPS (R11)(Z1*4), K2, Z3")
	a.op("VMOVUPS Z2, (DI)")
	a.op("VMOVUPS Z3, 64(DI)")
	a.op("ADDQ $4, R11")
	a.op("ADDQ $128, DI")
	a.op("DECQ R12")
	a.op("JNE  pbt_p")
	a.op("ADDQ R9, SI")
	a.op("DECQ DX")
	a.op("JNE  pbt_panel")
	a.label("pbt_done")
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}
