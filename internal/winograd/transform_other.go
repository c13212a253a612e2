//go:build !amd64

package winograd

import "math"

// useAsm is false: there are no assembly transforms on this architecture.
var useAsm = false

var negInf = math.Inf(-1)

func inputF2AVX512(src *float32, rowStride, colStride int, dst *float32, posStride, nc int) {
	panic("winograd: no assembly on this architecture")
}

func inputF4AVX512(src *float32, rowStride, colStride int, dst *float32, posStride, nc int) {
	panic("winograd: no assembly on this architecture")
}

func outputF2AVX512(src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32) {
	panic("winograd: no assembly on this architecture")
}

func outputF4AVX512(src *float32, posStride int, dst *float32, rowStride, colStride, nc int, bias *float32, floor float32) {
	panic("winograd: no assembly on this architecture")
}

func comb3AVX512(dst, a, b, c *float32, n int, ga, gb, gc float32) {
	panic("winograd: no assembly on this architecture")
}
