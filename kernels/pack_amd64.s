//go:build amd64 && !purego

#include "textflag.h"

// B panel packing (see pack.go): for p < kc, q < panels, copy the NR floats
// src[p*ldb + q*NR :] to dst[q*kc*NR + p*NR :]. Source rows are read in
// order, so the hardware prefetcher sees one stream per row.

// func packBPanels32(dst, src *float32, ldb, kc, panels int)
TEXT ·packBPanels32(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), BX
	SHLQ $2, BX
	MOVQ kc+24(FP), CX
	MOVQ panels+32(FP), DX
	MOVQ CX, R8
	SHLQ $7, R8 // panel stride: kc*32*4 bytes
	TESTQ CX, CX
	JEQ  p32_done
	TESTQ DX, DX
	JEQ  p32_done
p32_row:
	MOVQ DI, R10
	MOVQ SI, R11
	MOVQ DX, R12
p32_col:
	VMOVUPS (R11), Y0
	VMOVUPS 32(R11), Y1
	VMOVUPS 64(R11), Y2
	VMOVUPS 96(R11), Y3
	VMOVUPS Y0, (R10)
	VMOVUPS Y1, 32(R10)
	VMOVUPS Y2, 64(R10)
	VMOVUPS Y3, 96(R10)
	ADDQ $128, R11
	ADDQ R8, R10
	DECQ R12
	JNE  p32_col
	ADDQ BX, SI
	ADDQ $128, DI
	DECQ CX
	JNE  p32_row
p32_done:
	VZEROUPPER
	RET

// func packBPanels16(dst, src *float32, ldb, kc, panels int)
TEXT ·packBPanels16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), BX
	SHLQ $2, BX
	MOVQ kc+24(FP), CX
	MOVQ panels+32(FP), DX
	MOVQ CX, R8
	SHLQ $6, R8 // panel stride: kc*16*4 bytes
	TESTQ CX, CX
	JEQ  p16_done
	TESTQ DX, DX
	JEQ  p16_done
p16_row:
	MOVQ DI, R10
	MOVQ SI, R11
	MOVQ DX, R12
p16_col:
	VMOVUPS (R11), Y0
	VMOVUPS 32(R11), Y1
	VMOVUPS Y0, (R10)
	VMOVUPS Y1, 32(R10)
	ADDQ $64, R11
	ADDQ R8, R10
	DECQ R12
	JNE  p16_col
	ADDQ BX, SI
	ADDQ $64, DI
	DECQ CX
	JNE  p16_row
p16_done:
	VZEROUPPER
	RET

// Transposed-A micro-panel packing into the p-major layout of the "P"
// micro-kernels: for p < kc, dst[p*mr : p*mr+mr] = src[p*lda : p*lda+rows]
// then zeros (rows ≤ mr ≤ 16, resp. 8). Masked loads never touch the floats
// past rows, so reading at the matrix edge is safe.

// func packATAVX512(dst, src *float32, lda, kc, rows, mr int)
TEXT ·packATAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), BX
	SHLQ $2, BX
	MOVQ rows+32(FP), CX
	MOVL $1, R8
	SHLL CX, R8
	DECL R8
	KMOVW R8, K1 // load mask: rows lanes
	MOVQ mr+40(FP), CX
	MOVL $1, R9
	SHLL CX, R9
	DECL R9
	KMOVW R9, K2 // store mask: mr lanes
	MOVQ CX, DX
	SHLQ $2, DX // dst step: mr floats
	MOVQ kc+24(FP), CX
	TESTQ CX, CX
	JEQ  pat512_done
pat512_loop:
	PREFETCHT0 (SI)(BX*8)
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS Z0, K2, (DI)
	ADDQ BX, SI
	ADDQ DX, DI
	DECQ CX
	JNE  pat512_loop
pat512_done:
	VZEROUPPER
	RET

// laneMasks<>+4·(8-n) holds the AVX2 lane mask of the first n of 8 lanes.
DATA laneMasks<>+0(SB)/8, $0xffffffffffffffff
DATA laneMasks<>+8(SB)/8, $0xffffffffffffffff
DATA laneMasks<>+16(SB)/8, $0xffffffffffffffff
DATA laneMasks<>+24(SB)/8, $0xffffffffffffffff
DATA laneMasks<>+32(SB)/8, $0
DATA laneMasks<>+40(SB)/8, $0
DATA laneMasks<>+48(SB)/8, $0
DATA laneMasks<>+56(SB)/8, $0
GLOBL laneMasks<>(SB), RODATA|NOPTR, $64

// func packATAVX2(dst, src *float32, lda, kc, rows, mr int)
TEXT ·packATAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), BX
	SHLQ $2, BX
	LEAQ laneMasks<>(SB), R8
	MOVQ $8, AX
	SUBQ rows+32(FP), AX
	VMOVDQU (R8)(AX*4), Y1 // load mask: rows lanes
	MOVQ $8, AX
	MOVQ mr+40(FP), DX
	SUBQ DX, AX
	VMOVDQU (R8)(AX*4), Y2 // store mask: mr lanes
	SHLQ $2, DX
	MOVQ kc+24(FP), CX
	TESTQ CX, CX
	JEQ  pat2_done
pat2_loop:
	PREFETCHT0 (SI)(BX*8)
	VMASKMOVPS (SI), Y1, Y0
	VMASKMOVPS Y0, Y2, (DI)
	ADDQ BX, SI
	ADDQ DX, DI
	DECQ CX
	JNE  pat2_loop
pat2_done:
	VZEROUPPER
	RET

// Transposed B panel packing for the 32-wide AVX-512 micro-panels: B is
// stored n×k, so column jj of micro-panel q is source row q*32+jj. For
// p < kc, q < panels: dst[q*kc*32 + p*32 + jj] = src[(q*32+jj)*ldb + p],
// jj < 32, by two 16-lane gathers per p (row offsets jj*ldb in Z0/Z1). The
// 32 source rows stay in L1 across the p loop (each line serves 16 p's).

DATA packbt_iota<>+0(SB)/4, $0
DATA packbt_iota<>+4(SB)/4, $1
DATA packbt_iota<>+8(SB)/4, $2
DATA packbt_iota<>+12(SB)/4, $3
DATA packbt_iota<>+16(SB)/4, $4
DATA packbt_iota<>+20(SB)/4, $5
DATA packbt_iota<>+24(SB)/4, $6
DATA packbt_iota<>+28(SB)/4, $7
DATA packbt_iota<>+32(SB)/4, $8
DATA packbt_iota<>+36(SB)/4, $9
DATA packbt_iota<>+40(SB)/4, $10
DATA packbt_iota<>+44(SB)/4, $11
DATA packbt_iota<>+48(SB)/4, $12
DATA packbt_iota<>+52(SB)/4, $13
DATA packbt_iota<>+56(SB)/4, $14
DATA packbt_iota<>+60(SB)/4, $15
GLOBL packbt_iota<>(SB), RODATA, $64

// func packBT32AVX512(dst, src *float32, ldb, kc, panels int)
TEXT ·packBT32AVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), BX
	MOVQ kc+24(FP), CX
	MOVQ panels+32(FP), DX
	TESTQ CX, CX
	JEQ  pbt_done
	TESTQ DX, DX
	JEQ  pbt_done
	VPBROADCASTD BX, Z4
	VMOVDQU32 packbt_iota<>(SB), Z5
	VPMULLD Z4, Z5, Z0       // Z0 = jj*ldb, jj < 16
	VPSLLD $4, Z4, Z6        // 16*ldb
	VPADDD Z6, Z0, Z1        // Z1 = (16+jj)*ldb
	MOVQ BX, R9
	SHLQ $7, R9              // panel source stride: 32*ldb*4 bytes
pbt_panel:
	MOVQ SI, R11
	MOVQ CX, R12
pbt_p:
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2
	VGATHERDPS (R11)(Z0*4), K1, Z2
	VGATHERDPS (R11)(Z1*4), K2, Z3
	VMOVUPS Z2, (DI)
	VMOVUPS Z3, 64(DI)
	ADDQ $4, R11
	ADDQ $128, DI
	DECQ R12
	JNE  pbt_p
	ADDQ R9, SI
	DECQ DX
	JNE  pbt_panel
pbt_done:
	VZEROUPPER
	RET
