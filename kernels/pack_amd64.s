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
