//go:build amd64 && !purego

#include "textflag.h"

// AVX2 small kernels. Each runs 32 floats (4 ymm) per iteration, then 8,
// then a scalar tail; the Go wrappers in vector.go have checked lengths.

// func axpyAVX2(alpha float32, x, y []float32)   y[i] += alpha·x[i], i < len(x)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ x_base+8(FP), SI
	MOVQ x_len+16(FP), CX
	MOVQ y_base+32(FP), DI
axpy_loop32:
	CMPQ CX, $32
	JLT  axpy_loop8
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  axpy_loop32
axpy_loop8:
	CMPQ CX, $8
	JLT  axpy_tail
	VMOVUPS (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  axpy_loop8
axpy_tail:
	TESTQ CX, CX
	JEQ   axpy_done
	VMOVSS (DI), X1
	VFMADD231SS (SI), X0, X1
	VMOVSS X1, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  axpy_tail
axpy_done:
	VZEROUPPER
	RET

// func scaleAVX2(alpha float32, x []float32)   x[i] *= alpha
TEXT ·scaleAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ x_base+8(FP), SI
	MOVQ x_len+16(FP), CX
scale_loop32:
	CMPQ CX, $32
	JLT  scale_loop8
	VMULPS (SI), Y0, Y1
	VMULPS 32(SI), Y0, Y2
	VMULPS 64(SI), Y0, Y3
	VMULPS 96(SI), Y0, Y4
	VMOVUPS Y1, (SI)
	VMOVUPS Y2, 32(SI)
	VMOVUPS Y3, 64(SI)
	VMOVUPS Y4, 96(SI)
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  scale_loop32
scale_loop8:
	CMPQ CX, $8
	JLT  scale_tail
	VMULPS (SI), Y0, Y1
	VMOVUPS Y1, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  scale_loop8
scale_tail:
	TESTQ CX, CX
	JEQ   scale_done
	VMULSS (SI), X0, X1
	VMOVSS X1, (SI)
	ADDQ $4, SI
	DECQ CX
	JMP  scale_tail
scale_done:
	VZEROUPPER
	RET

// func addAVX2(dst, src []float32)   dst[i] += src[i], i < len(src)
TEXT ·addAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
add_loop32:
	CMPQ CX, $32
	JLT  add_loop8
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	VADDPS (SI), Y1, Y1
	VADDPS 32(SI), Y2, Y2
	VADDPS 64(SI), Y3, Y3
	VADDPS 96(SI), Y4, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  add_loop32
add_loop8:
	CMPQ CX, $8
	JLT  add_tail
	VMOVUPS (DI), Y1
	VADDPS (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  add_loop8
add_tail:
	TESTQ CX, CX
	JEQ   add_done
	VMOVSS (DI), X1
	VADDSS (SI), X1, X1
	VMOVSS X1, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  add_tail
add_done:
	VZEROUPPER
	RET

// func reluAVX2(dst, src []float32)   dst[i] = max(src[i], 0), NaN → 0
// (VMAXPS returns its second source, the zero, when the first is NaN).
TEXT ·reluAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	VXORPS Y0, Y0, Y0
relu_loop32:
	CMPQ CX, $32
	JLT  relu_loop8
	VMOVUPS (SI), Y1
	VMOVUPS 32(SI), Y2
	VMOVUPS 64(SI), Y3
	VMOVUPS 96(SI), Y4
	VMAXPS Y0, Y1, Y1
	VMAXPS Y0, Y2, Y2
	VMAXPS Y0, Y3, Y3
	VMAXPS Y0, Y4, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  relu_loop32
relu_loop8:
	CMPQ CX, $8
	JLT  relu_tail
	VMOVUPS (SI), Y1
	VMAXPS Y0, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  relu_loop8
relu_tail:
	TESTQ CX, CX
	JEQ   relu_done
	VMOVSS (SI), X1
	VMAXSS X0, X1, X1
	VMOVSS X1, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  relu_tail
relu_done:
	VZEROUPPER
	RET

// func reluBackwardAVX2(dx, dy, y []float32)   dx[i] = y[i] > 0 ? dy[i] : 0
// (mask = 0 < y, ordered: false for NaN).
TEXT ·reluBackwardAVX2(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ dx_len+8(FP), CX
	MOVQ dy_base+24(FP), SI
	MOVQ y_base+48(FP), DX
	VXORPS Y0, Y0, Y0
relub_loop8:
	CMPQ CX, $8
	JLT  relub_tail
	VCMPPS $0x11, (DX), Y0, Y1
	VANDPS (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  relub_loop8
relub_tail:
	TESTQ CX, CX
	JEQ   relub_done
	VCMPSS $0x11, (DX), X0, X1
	VANDPS (SI), X1, X1
	VMOVSS X1, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	ADDQ $4, DX
	DECQ CX
	JMP  relub_tail
relub_done:
	VZEROUPPER
	RET

// func sumAVX2(x []float32) float32
TEXT ·sumAVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
sum_loop32:
	CMPQ CX, $32
	JLT  sum_loop8
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  sum_loop32
sum_loop8:
	CMPQ CX, $8
	JLT  sum_reduce
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  sum_loop8
sum_reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X1, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VXORPS X2, X2, X2
sum_tail:
	TESTQ CX, CX
	JEQ   sum_done
	VADDSS (SI), X2, X2
	ADDQ $4, SI
	DECQ CX
	JMP  sum_tail
sum_done:
	VADDSS X2, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotAVX2(x, y []float32) float32   Σ x[i]·y[i], i < len(x)
TEXT ·dotAVX2(SB), NOSPLIT, $0-52
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
dot_loop32:
	CMPQ CX, $32
	JLT  dot_loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  dot_loop32
dot_loop8:
	CMPQ CX, $8
	JLT  dot_reduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot_loop8
dot_reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X1, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VXORPS X2, X2, X2
dot_tail:
	TESTQ CX, CX
	JEQ   dot_done
	VMOVSS (SI), X4
	VFMADD231SS (DI), X4, X2
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  dot_tail
dot_done:
	VADDSS X2, X0, X0
	VMOVSS X0, ret+48(FP)
	VZEROUPPER
	RET

// func reluMaskAVX512(mask []uint16, y []float32)
// mask[w] = bits of (0 < y[16w+b]) for b < 16 (ordered compare: NaN gives 0),
// for w < len(y)/16; four words per iteration, then one at a time.
TEXT ·reluMaskAVX512(SB), NOSPLIT, $0-48
	MOVQ mask_base+0(FP), DI
	MOVQ y_base+24(FP), SI
	MOVQ y_len+32(FP), CX
	SHRQ $4, CX
	VPXORD Z0, Z0, Z0
rmask_loop4:
	CMPQ CX, $4
	JLT  rmask_tail
	VCMPPS $0x11, (SI), Z0, K1
	VCMPPS $0x11, 64(SI), Z0, K2
	VCMPPS $0x11, 128(SI), Z0, K3
	VCMPPS $0x11, 192(SI), Z0, K4
	KMOVW K1, (DI)
	KMOVW K2, 2(DI)
	KMOVW K3, 4(DI)
	KMOVW K4, 6(DI)
	ADDQ $256, SI
	ADDQ $8, DI
	SUBQ $4, CX
	JMP  rmask_loop4
rmask_tail:
	TESTQ CX, CX
	JEQ   rmask_done
	VCMPPS $0x11, (SI), Z0, K1
	KMOVW K1, (DI)
	ADDQ $64, SI
	ADDQ $2, DI
	DECQ CX
	JMP  rmask_tail
rmask_done:
	VZEROUPPER
	RET

// func reluBackwardMaskAVX512(dx, dy []float32, mask []uint16)
// dx[i] = bit i%16 of mask[i/16] ? dy[i] : 0 for i < len(dx)/16*16: dy loaded
// under the mask with zeroing.
TEXT ·reluBackwardMaskAVX512(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ dx_len+8(FP), CX
	MOVQ dy_base+24(FP), SI
	MOVQ mask_base+48(FP), DX
	SHRQ $4, CX
rbmask_loop4:
	CMPQ CX, $4
	JLT  rbmask_tail
	KMOVW (DX), K1
	KMOVW 2(DX), K2
	KMOVW 4(DX), K3
	KMOVW 6(DX), K4
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS.Z 128(SI), K3, Z2
	VMOVUPS.Z 192(SI), K4, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $8, DX
	SUBQ $4, CX
	JMP  rbmask_loop4
rbmask_tail:
	TESTQ CX, CX
	JEQ   rbmask_done
	KMOVW (DX), K1
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $2, DX
	DECQ CX
	JMP  rbmask_tail
rbmask_done:
	VZEROUPPER
	RET
