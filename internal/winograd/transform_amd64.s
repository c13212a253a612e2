//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 Winograd transforms, 16 channels per zmm register. See
// transform.go for the Go twins, the math and the layouts. Strides arrive in
// floats and are turned into bytes.

DATA winoConst<>+0(SB)/4, $0x40800000  // 4.0
DATA winoConst<>+4(SB)/4, $0x40a00000  // 5.0
DATA winoConst<>+8(SB)/4, $0x40000000  // 2.0
DATA winoConst<>+12(SB)/4, $0x41000000 // 8.0
GLOBL winoConst<>(SB), RODATA|NOPTR, $16

// BT4 applies F2's Bᵀ: o0 = x0-x2, o1 = x1+x2, o2 = x2-x1, o3 = x1-x3.
#define BT4(x0, x1, x2, x3, o0, o1, o2, o3) \
	VSUBPS x2, x0, o0; \
	VADDPS x2, x1, o1; \
	VSUBPS x1, x2, o2; \
	VSUBPS x3, x1, o3

// BT6 applies F4's Bᵀ with temporaries Z12-Z15 and constants Z28=4, Z29=5, Z30=2:
//   t0 = x4-4x2, t1 = x3-4x1, t2 = x4-x2, t3 = x3-x1
//   o0 = x4+4x0-5x2, o1 = t1+t0, o2 = t0-t1, o3 = t2+2t3, o4 = t2-2t3, o5 = x5+4x1-5x3
#define BT6(x0, x1, x2, x3, x4, x5, o0, o1, o2, o3, o4, o5) \
	VMOVAPS x4, Z12; \
	VFNMADD231PS x2, Z28, Z12; \
	VMOVAPS x3, Z13; \
	VFNMADD231PS x1, Z28, Z13; \
	VSUBPS x2, x4, Z14; \
	VSUBPS x1, x3, Z15; \
	VMOVAPS x4, o0; \
	VFMADD231PS x0, Z28, o0; \
	VFNMADD231PS x2, Z29, o0; \
	VMOVAPS x5, o5; \
	VFMADD231PS x1, Z28, o5; \
	VFNMADD231PS x3, Z29, o5; \
	VADDPS Z12, Z13, o1; \
	VSUBPS Z13, Z12, o2; \
	VMOVAPS Z14, o3; \
	VFMADD231PS Z15, Z30, o3; \
	VMOVAPS Z14, o4; \
	VFNMADD231PS Z15, Z30, o4

// AT6 applies F4's Aᵀ (6 → 4) with temporaries Z12-Z15 and constants Z28=4, Z30=2, Z31=8:
//   a = m1+m2, b = m1-m2, c = m3+m4, d = m3-m4
//   y0 = m0+a+c, y1 = b+2d, y2 = a+4c, y3 = b+8d+m5
#define AT6(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3) \
	VADDPS m2, m1, Z12; \
	VSUBPS m2, m1, Z13; \
	VADDPS m4, m3, Z14; \
	VSUBPS m4, m3, Z15; \
	VADDPS Z12, m0, y0; \
	VADDPS Z14, y0, y0; \
	VMOVAPS Z13, y1; \
	VFMADD231PS Z15, Z30, y1; \
	VMOVAPS Z12, y2; \
	VFMADD231PS Z14, Z28, y2; \
	VADDPS Z13, m5, y3; \
	VFMADD231PS Z15, Z31, y3

// func inputF2AVX512(src *float32, rowStride, colStride int, dst *float32, posStride, nc int)
TEXT ·inputF2AVX512(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ rowStride+8(FP), R8
	MOVQ colStride+16(FP), R9
	MOVQ dst+24(FP), DI
	MOVQ posStride+32(FP), R10
	MOVQ nc+40(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, CX
	LEAQ (R9)(R9*2), R12   // 3·colStride
	LEAQ (R10*4), R14      // 4·posStride
	LEAQ (R14)(R14*2), R15 // 12·posStride
	XORQ BX, BX

in2loop:
	// Load the 4×4 tile: d[i][j] = Z(4i+j).
	LEAQ (SI)(BX*1), R11
	VMOVUPS (R11), Z0
	VMOVUPS (R11)(R9*1), Z1
	VMOVUPS (R11)(R9*2), Z2
	VMOVUPS (R11)(R12*1), Z3
	ADDQ R8, R11
	VMOVUPS (R11), Z4
	VMOVUPS (R11)(R9*1), Z5
	VMOVUPS (R11)(R9*2), Z6
	VMOVUPS (R11)(R12*1), Z7
	ADDQ R8, R11
	VMOVUPS (R11), Z8
	VMOVUPS (R11)(R9*1), Z9
	VMOVUPS (R11)(R9*2), Z10
	VMOVUPS (R11)(R12*1), Z11
	ADDQ R8, R11
	VMOVUPS (R11), Z12
	VMOVUPS (R11)(R9*1), Z13
	VMOVUPS (R11)(R9*2), Z14
	VMOVUPS (R11)(R12*1), Z15

	// Rows: r[i][·] = Bᵀ d[i][·]  → Z16+4i ..
	BT4(Z0, Z1, Z2, Z3, Z16, Z17, Z18, Z19)
	BT4(Z4, Z5, Z6, Z7, Z20, Z21, Z22, Z23)
	BT4(Z8, Z9, Z10, Z11, Z24, Z25, Z26, Z27)
	BT4(Z12, Z13, Z14, Z15, Z28, Z29, Z30, Z31)

	// Columns: V[i][j] = (Bᵀ r[·][j])[i], stored at dst + (4i+j)·posStride.
	LEAQ (DI)(BX*1), DX
	BT4(Z16, Z20, Z24, Z28, Z0, Z1, Z2, Z3)
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, (DX)(R14*1)
	VMOVUPS Z2, (DX)(R14*2)
	VMOVUPS Z3, (DX)(R15*1)
	ADDQ R10, DX
	BT4(Z17, Z21, Z25, Z29, Z0, Z1, Z2, Z3)
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, (DX)(R14*1)
	VMOVUPS Z2, (DX)(R14*2)
	VMOVUPS Z3, (DX)(R15*1)
	ADDQ R10, DX
	BT4(Z18, Z22, Z26, Z30, Z0, Z1, Z2, Z3)
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, (DX)(R14*1)
	VMOVUPS Z2, (DX)(R14*2)
	VMOVUPS Z3, (DX)(R15*1)
	ADDQ R10, DX
	BT4(Z19, Z23, Z27, Z31, Z0, Z1, Z2, Z3)
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, (DX)(R14*1)
	VMOVUPS Z2, (DX)(R14*2)
	VMOVUPS Z3, (DX)(R15*1)

	ADDQ $64, BX
	CMPQ BX, CX
	JLT  in2loop
	VZEROUPPER
	RET

// F2 output: column step t0[j] = m0j+m1j+m2j, t1[j] = m1j-m2j-m3j.
#define AT4COL(m0, m1, m2, m3, t0, t1) \
	VADDPS m1, m0, t0; \
	VADDPS m2, t0, t0; \
	VSUBPS m2, m1, t1; \
	VSUBPS m3, t1, t1

// F2 output: row step y0 = t0+t1+t2, y1 = t1-t2-t3, then + bias (Z27), max floor (Z26).
#define AT4ROW(t0, t1, t2, t3, y0, y1) \
	VADDPS t1, t0, y0; \
	VADDPS t2, y0, y0; \
	VSUBPS t2, t1, y1; \
	VSUBPS t3, y1, y1; \
	VADDPS Z27, y0, y0; \
	VADDPS Z27, y1, y1; \
	VMAXPS y0, Z26, y0; \
	VMAXPS y1, Z26, y1

// func outputF2AVX512(src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32)
TEXT ·outputF2AVX512(SB), NOSPLIT, $0-60
	MOVQ src+0(FP), SI
	MOVQ posStride+8(FP), R10
	MOVQ dst+16(FP), DI
	MOVQ rowStride+24(FP), R8
	MOVQ colStride+32(FP), R9
	MOVQ nc+40(FP), CX
	MOVQ bias+48(FP), AX
	VBROADCASTSS floor+56(FP), Z26
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, CX
	LEAQ (R10)(R10*2), R13 // 3·posStride
	LEAQ (R10*4), R14      // 4·posStride
	XORQ BX, BX

out2loop:
	VMOVUPS (AX)(BX*1), Z27
	// Load M: m[i][j] = Z(4i+j) from src + (4i+j)·posStride.
	LEAQ (SI)(BX*1), R11
	VMOVUPS (R11), Z0
	VMOVUPS (R11)(R10*1), Z1
	VMOVUPS (R11)(R10*2), Z2
	VMOVUPS (R11)(R13*1), Z3
	ADDQ R14, R11
	VMOVUPS (R11), Z4
	VMOVUPS (R11)(R10*1), Z5
	VMOVUPS (R11)(R10*2), Z6
	VMOVUPS (R11)(R13*1), Z7
	ADDQ R14, R11
	VMOVUPS (R11), Z8
	VMOVUPS (R11)(R10*1), Z9
	VMOVUPS (R11)(R10*2), Z10
	VMOVUPS (R11)(R13*1), Z11
	ADDQ R14, R11
	VMOVUPS (R11), Z12
	VMOVUPS (R11)(R10*1), Z13
	VMOVUPS (R11)(R10*2), Z14
	VMOVUPS (R11)(R13*1), Z15

	// Columns: t[0][j] = Z16+j, t[1][j] = Z20+j.
	AT4COL(Z0, Z4, Z8, Z12, Z16, Z20)
	AT4COL(Z1, Z5, Z9, Z13, Z17, Z21)
	AT4COL(Z2, Z6, Z10, Z14, Z18, Z22)
	AT4COL(Z3, Z7, Z11, Z15, Z19, Z23)

	// Rows: y[i][0..1], stored at dst + i·rowStride + jj·colStride.
	LEAQ (DI)(BX*1), R11
	AT4ROW(Z16, Z17, Z18, Z19, Z24, Z25)
	VMOVUPS Z24, (R11)
	VMOVUPS Z25, (R11)(R9*1)
	ADDQ R8, R11
	AT4ROW(Z20, Z21, Z22, Z23, Z24, Z25)
	VMOVUPS Z24, (R11)
	VMOVUPS Z25, (R11)(R9*1)

	ADDQ $64, BX
	CMPQ BX, CX
	JLT  out2loop
	VZEROUPPER
	RET

// F4 input, row step for one tile row at R11: load 6 pixels, Bᵀ, store to the
// stack row at AX (tmp[i][j] at i·384 + j·64).
#define IN4ROW \
	VMOVUPS (R11), Z0; \
	VMOVUPS (R11)(R9*1), Z1; \
	VMOVUPS (R11)(R9*2), Z2; \
	VMOVUPS (R11)(R12*1), Z3; \
	VMOVUPS (R11)(R9*4), Z4; \
	VMOVUPS (R11)(R13*1), Z5; \
	BT6(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11); \
	VMOVUPS Z6, 0(AX); \
	VMOVUPS Z7, 64(AX); \
	VMOVUPS Z8, 128(AX); \
	VMOVUPS Z9, 192(AX); \
	VMOVUPS Z10, 256(AX); \
	VMOVUPS Z11, 320(AX); \
	ADDQ R8, R11; \
	ADDQ $384, AX

// F4 input, column step for column j: load tmp[0..5][j] at AX, Bᵀ, store
// V[i][j] at DX + i·6·posStride (R14 = 6·posStride, R15 = 18·posStride).
#define IN4COL \
	VMOVUPS 0(AX), Z0; \
	VMOVUPS 384(AX), Z1; \
	VMOVUPS 768(AX), Z2; \
	VMOVUPS 1152(AX), Z3; \
	VMOVUPS 1536(AX), Z4; \
	VMOVUPS 1920(AX), Z5; \
	BT6(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11); \
	LEAQ (DX)(R15*1), R11; \
	VMOVUPS Z6, (DX); \
	VMOVUPS Z7, (DX)(R14*1); \
	VMOVUPS Z8, (DX)(R14*2); \
	VMOVUPS Z9, (R11); \
	VMOVUPS Z10, (R11)(R14*1); \
	VMOVUPS Z11, (R11)(R14*2); \
	ADDQ R10, DX; \
	ADDQ $64, AX

// func inputF4AVX512(src *float32, rowStride, colStride int, dst *float32, posStride, nc int)
TEXT ·inputF4AVX512(SB), 0, $2304-48
	MOVQ src+0(FP), SI
	MOVQ rowStride+8(FP), R8
	MOVQ colStride+16(FP), R9
	MOVQ dst+24(FP), DI
	MOVQ posStride+32(FP), R10
	MOVQ nc+40(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, CX
	LEAQ (R9)(R9*2), R12   // 3·colStride
	LEAQ (R9)(R9*4), R13   // 5·colStride
	LEAQ (R10)(R10*2), R14
	SHLQ $1, R14           // 6·posStride
	LEAQ (R14)(R14*2), R15 // 18·posStride
	VBROADCASTSS winoConst<>+0(SB), Z28
	VBROADCASTSS winoConst<>+4(SB), Z29
	VBROADCASTSS winoConst<>+8(SB), Z30
	XORQ BX, BX

in4loop:
	LEAQ (SI)(BX*1), R11
	LEAQ 0(SP), AX
	IN4ROW
	IN4ROW
	IN4ROW
	IN4ROW
	IN4ROW
	IN4ROW
	LEAQ (DI)(BX*1), DX
	LEAQ 0(SP), AX
	IN4COL
	IN4COL
	IN4COL
	IN4COL
	IN4COL
	IN4COL
	ADDQ $64, BX
	CMPQ BX, CX
	JLT  in4loop
	VZEROUPPER
	RET

// F4 output, column step for column j: load M[i][j] (i = 0..5) from R11 +
// i·6·posStride, Aᵀ, store tmp[0..3][j] at AX (tmp[i][j] at i·384 + j·64).
// M is read as 36 streams, more than the hardware prefetchers track, so each
// is prefetched 4 chunks (256 bytes) ahead (measured +4-14% per core on
// block1_conv2/block3_conv2; prefetching the input rows gained nothing).
#define OUT4COL \
	LEAQ (R11)(R15*1), R13; \
	PREFETCHT0 256(R11); \
	PREFETCHT0 256(R11)(R14*1); \
	PREFETCHT0 256(R11)(R14*2); \
	PREFETCHT0 256(R13); \
	PREFETCHT0 256(R13)(R14*1); \
	PREFETCHT0 256(R13)(R14*2); \
	VMOVUPS (R11), Z0; \
	VMOVUPS (R11)(R14*1), Z1; \
	VMOVUPS (R11)(R14*2), Z2; \
	VMOVUPS (R13), Z3; \
	VMOVUPS (R13)(R14*1), Z4; \
	VMOVUPS (R13)(R14*2), Z5; \
	AT6(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9); \
	VMOVUPS Z6, 0(AX); \
	VMOVUPS Z7, 384(AX); \
	VMOVUPS Z8, 768(AX); \
	VMOVUPS Z9, 1152(AX); \
	ADDQ R10, R11; \
	ADDQ $64, AX

// F4 output, row step for row i: load tmp[i][0..5] at AX, Aᵀ, + bias (Z27),
// max floor (Z26), store y[i][jj] at R11 + jj·colStride.
#define OUT4ROW \
	VMOVUPS 0(AX), Z0; \
	VMOVUPS 64(AX), Z1; \
	VMOVUPS 128(AX), Z2; \
	VMOVUPS 192(AX), Z3; \
	VMOVUPS 256(AX), Z4; \
	VMOVUPS 320(AX), Z5; \
	AT6(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9); \
	VADDPS Z27, Z6, Z6; \
	VADDPS Z27, Z7, Z7; \
	VADDPS Z27, Z8, Z8; \
	VADDPS Z27, Z9, Z9; \
	VMAXPS Z6, Z26, Z6; \
	VMAXPS Z7, Z26, Z7; \
	VMAXPS Z8, Z26, Z8; \
	VMAXPS Z9, Z26, Z9; \
	VMOVUPS Z6, (R11); \
	VMOVUPS Z7, (R11)(R9*1); \
	VMOVUPS Z8, (R11)(R9*2); \
	VMOVUPS Z9, (R11)(R12*1); \
	ADDQ R8, R11; \
	ADDQ $384, AX

// func outputF4AVX512(src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32)
TEXT ·outputF4AVX512(SB), 0, $1536-60
	MOVQ src+0(FP), SI
	MOVQ posStride+8(FP), R10
	MOVQ dst+16(FP), DI
	MOVQ rowStride+24(FP), R8
	MOVQ colStride+32(FP), R9
	MOVQ nc+40(FP), CX
	MOVQ bias+48(FP), DX
	VBROADCASTSS floor+56(FP), Z26
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, CX
	LEAQ (R9)(R9*2), R12   // 3·colStride
	LEAQ (R10)(R10*2), R14
	SHLQ $1, R14           // 6·posStride
	LEAQ (R14)(R14*2), R15 // 18·posStride
	VBROADCASTSS winoConst<>+0(SB), Z28
	VBROADCASTSS winoConst<>+8(SB), Z30
	VBROADCASTSS winoConst<>+12(SB), Z31
	XORQ BX, BX

out4loop:
	VMOVUPS (DX)(BX*1), Z27
	LEAQ (SI)(BX*1), R11
	LEAQ 0(SP), AX
	OUT4COL
	OUT4COL
	OUT4COL
	OUT4COL
	OUT4COL
	OUT4COL
	LEAQ (DI)(BX*1), R11
	LEAQ 0(SP), AX
	OUT4ROW
	OUT4ROW
	OUT4ROW
	OUT4ROW
	ADDQ $64, BX
	CMPQ BX, CX
	JLT  out4loop
	VZEROUPPER
	RET

// func comb3AVX512(dst, a, b, c *float32, n int, ga, gb, gc float32)
// dst[x] = ga·a[x] + gb·b[x] + gc·c[x] for x < n (n a multiple of 16, > 0).
TEXT ·comb3AVX512(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS ga+40(FP), Z0
	VBROADCASTSS gb+44(FP), Z1
	VBROADCASTSS gc+48(FP), Z2
	SHLQ $2, CX
	XORQ BX, BX

comb3loop:
	VMULPS      (SI)(BX*1), Z0, Z3
	VFMADD231PS (DX)(BX*1), Z1, Z3
	VFMADD231PS (R8)(BX*1), Z2, Z3
	VMOVUPS     Z3, (DI)(BX*1)
	ADDQ        $64, BX
	CMPQ        BX, CX
	JLT         comb3loop
	VZEROUPPER
	RET
