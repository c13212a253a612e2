//go:build amd64 && !purego

package winograd

import "github.com/gotransfer/gotransfer/kernels"

// asmWidth is the number of channels per vector register of the assembly
// transforms (transform_amd64.s) that run: 16 (zmm) when the kernels'
// active level is avx512, 8 (ymm) when it is avx2, 0 (Go twins only)
// otherwise, so that the level kernels chose (from the CPU,
// GOTRANSFER_KERNELS or kernels.SetLevel) governs the transforms too. Read
// at each call, as kernels reads its level.
func asmWidth() int {
	switch kernels.Level() {
	case "avx512":
		return 16
	case "avx2":
		return 8
	}
	return 0
}
