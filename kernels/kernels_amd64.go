//go:build amd64 && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// The assembly functions the levels below use are declared in
// sgemm_amd64.go, vector_amd64.go and pack_amd64.go, generated with their
// .s files by internal/asmgen (go generate).

// avx512Level: 14×32 zmm tile (28 accumulators). A micro-panel 14·kc floats
// (≤ 22 KiB at kc = 384) stays in the 48 KiB L1d; the B panel kc·nc (≤ 1 MiB)
// in the 2 MiB L2.
var avx512Level = &kernelLevel{
	name: "avx512", mr: 14, nr: 32, kcMax: 576, bPanel: 256 << 10,
	kernel: sgemmKernel14x32AVX512, packB: packBPanels32, vec: avx512Vec,
	kernelP: sgemmKernel14x32AVX512P, packAT: packATAVX512, packBT: packBT32AVX512,
	kernelDB: sgemmKernel14x32AVX512DB, kernelPDB: sgemmKernel14x32AVX512PDB, maskInKernel: true,
}

// avx2Level: 6×16 ymm tile (12 accumulators).
var avx2Level = &kernelLevel{
	name: "avx2", mr: 6, nr: 16, kcMax: 768, bPanel: 256 << 10,
	kernel: sgemmKernel6x16AVX2, packB: packBPanels16, vec: avx2Vec,
	kernelP: sgemmKernel6x16AVX2P, packAT: packATAVX2,
}

// avx2Vec are the AVX2 small kernels of vector_amd64.s (the ReLU bit
// masks in pure Go: they need AVX-512's mask registers to pay).
var avx2Vec = vecKernels{
	axpy: axpyAVX2, scale: scaleAVX2, add: addAVX2, relu: reluAVX2,
	reluBackward: reluBackwardAVX2, sum: sumAVX2, dot: dotAVX2,
	reluMask: reluMaskGo, reluBackwardMask: reluBackwardMaskGo,
}

// avx512Vec are avx2Vec with the ReLU bit masks in AVX-512 (compares into
// and loads under mask registers, 16 floats per 16-bit word).
var avx512Vec = func() vecKernels {
	v := avx2Vec
	v.reluMask, v.reluBackwardMask = reluMaskAVX512, reluBackwardMaskAVX512
	return v
}()

func registerArch() {
	if cpuid.CPU.Supports(cpuid.AVX512F) {
		supported = append(supported, avx512Level)
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		supported = append(supported, avx2Level)
	}
}
