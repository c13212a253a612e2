//go:build amd64 && !purego

package winograd

import "github.com/gotransfer/gotransfer/kernels"

// useAsm reports whether the AVX-512 transforms (transform_amd64.s) run:
// exactly when the kernels' active level is avx512, so that the level
// kernels chose (from the CPU, GOTRANSFER_KERNELS or kernels.SetLevel)
// governs the transforms too. Read at each call, as kernels reads its level.
func useAsm() bool { return kernels.Level() == "avx512" }
