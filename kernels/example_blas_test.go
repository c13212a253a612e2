package kernels_test

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/gotransfer/gotransfer/kernels"
)

// Gonum's float32 BLAS API runs on the kernels once kernels.BLAS is its
// implementation: here C = A·Bᵀ with A 2×3 and B 2×3.
func ExampleBLAS() {
	blas32.Use(kernels.BLAS)

	a := blas32.General{Rows: 2, Cols: 3, Stride: 3, Data: []float32{
		1, 2, 3,
		4, 5, 6,
	}}
	b := blas32.General{Rows: 2, Cols: 3, Stride: 3, Data: []float32{
		1, 0, -1,
		2, 1, 0,
	}}
	c := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: make([]float32, 4)}
	blas32.Gemm(blas.NoTrans, blas.Trans, 1, a, b, 0, c)
	fmt.Println(c.Data)
	// Output: [-2 4 -2 13]
}
