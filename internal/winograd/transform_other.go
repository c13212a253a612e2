//go:build !amd64 || purego

package winograd

import "math"

// useAsm is false: this architecture or build (purego) has no assembly
// transforms.
func useAsm() bool { return false }

var negInf = math.Inf(-1)

func inputF2AVX512(src *float32, rowStride, colStride int, dst *float32, posStride, nc int) {
	panic("winograd: no assembly in this build")
}

func inputF4AVX512(src *float32, rowStride, colStride int, dst *float32, posStride, nc int) {
	panic("winograd: no assembly in this build")
}

func outputF2AVX512(src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32) {
	panic("winograd: no assembly in this build")
}

func outputF4AVX512(src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32) {
	panic("winograd: no assembly in this build")
}

func comb3AVX512(dst, a, b, c *float32, n int, ga, gb, gc float32) {
	panic("winograd: no assembly in this build")
}
