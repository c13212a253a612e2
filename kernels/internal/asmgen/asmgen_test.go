package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFilesUpToDate fails when a committed assembly or declaration
// file differs from what asmgen writes: the .s files are not to be edited by
// hand, and a generator change must be followed by go generate ./kernels.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	kernelsDir := filepath.Join("..", "..") // this package is kernels/internal/asmgen
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join(kernelsDir, filepath.FromSlash(path)))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if !bytes.Equal(got, want) {
			gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
			line := 0
			for line < len(gl) && line < len(wl) && gl[line] == wl[line] {
				line++
			}
			t.Errorf("%s is out of date (run go generate ./kernels); first difference at line %d", path, line+1)
		}
	}
}

// TestArgLayout checks the frame offsets derived from Go signatures against
// the ABI0 layout go vet's asmdecl check expects (arguments aligned to
// their size, results at pointer alignment after them).
func TestArgLayout(t *testing.T) {
	cases := []struct {
		f    goFunc
		arg  string
		want string
		size int
	}{
		{goFunc{params: kernelParams}, "beta", "beta+48(FP)", 80},
		{goFunc{params: kernelParams}, "bias", "bias+56(FP)", 80},
		{goFunc{params: kernelParams + ", ldb int"}, "ldb", "ldb+80(FP)", 88},
		{goFunc{params: "alpha float32, x, y []float32"}, "y_base", "y_base+32(FP)", 56},
		{goFunc{params: "alpha float32, x, y []float32"}, "x_len", "x_len+16(FP)", 56},
		{goFunc{params: "x []float32", result: "float32"}, "ret", "ret+24(FP)", 28},
		{goFunc{params: "x, y []float32", result: "float32"}, "ret", "ret+48(FP)", 52},
		{goFunc{params: "dst, a, b, c *float32, n int, ga, gb, gc float32"}, "gc", "gc+48(FP)", 52},
		{goFunc{params: outputParams}, "floor", "floor+56(FP)", 60},
		{goFunc{params: "dx, dy []float32, mask []uint16"}, "mask_base", "mask_base+48(FP)", 72},
	}
	for _, c := range cases {
		if got := c.f.arg(c.arg); got != c.want {
			t.Errorf("(%s).arg(%q) = %s, want %s", c.f.params, c.arg, got, c.want)
		}
		if _, _, size := c.f.layout(); size != c.size {
			t.Errorf("(%s) argument size %d, want %d", c.f.params, size, c.size)
		}
	}
}
