//go:build !linux

package tensor

// adviseHugePages does nothing outside Linux.
func adviseHugePages([]float32) {}
