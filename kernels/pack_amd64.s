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
