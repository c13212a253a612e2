//go:build !amd64 || purego

package kernels

// registerArch adds nothing: without assembly only the generic level exists.
func registerArch() {}
