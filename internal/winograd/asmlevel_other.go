//go:build !amd64 || purego

package winograd

// useAsm is false: this architecture or build (purego) has no assembly
// transforms.
func useAsm() bool { return false }
