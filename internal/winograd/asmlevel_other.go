//go:build !amd64 || purego

package winograd

// asmWidth is 0: this architecture or build (purego) has no assembly
// transforms.
func asmWidth() int { return 0 }
