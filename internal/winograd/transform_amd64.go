//go:build amd64 && !purego

package winograd

import (
	"math"

	"github.com/gotransfer/gotransfer/kernels"
)

// useAsm reports whether the AVX-512 transforms run: exactly when the
// kernels' active level is avx512, so that the level kernels chose (from
// the CPU, GOTRANSFER_KERNELS or kernels.SetLevel) governs the transforms
// too. Read at each call, as kernels reads its level.
func useAsm() bool { return kernels.Level() == "avx512" }

var negInf = math.Inf(-1)

// The AVX-512 transforms process nc channels (a multiple of 16, > 0), 16 per
// zmm register. Strides are in floats; the layouts are those of the Go twins
// (transform.go). The output routines add bias[c] and clamp below at floor
// (0 for ReLU, -Inf for none; NaN propagates).

//go:noescape
func inputF2AVX512(src *float32, rowStride, colStride int, dst *float32, posStride, nc int)

//go:noescape
func inputF4AVX512(src *float32, rowStride, colStride int, dst *float32, posStride, nc int)

//go:noescape
func outputF2AVX512(src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32)

//go:noescape
func outputF4AVX512(src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32)

// comb3AVX512 sets dst[x] = ga·a[x] + gb·b[x] + gc·c[x] for x < n (n a
// positive multiple of 16); the kernel transform's inner loop.
//
//go:noescape
func comb3AVX512(dst, a, b, c *float32, n int, ga, gb, gc float32)
