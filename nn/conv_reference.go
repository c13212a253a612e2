package nn

import (
	"gonum.org/v1/gonum/blas"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/tensor"
)

// The textbook convolution: start reading here. The other algorithms
// (conv_algorithms.go) compute the same products faster, without ever
// writing the im2col matrix out; this one writes it, one image at a time,
// and multiplies through Gonum's BLAS interface.
//
// Shapes, per image n (P = OH·OW output pixels, K = kh·kw·cin):
//
//	x[n]   (H, W, cin)      input image, NHWC
//	cols   (P, K)           im2col: cols[oh·OW + ow, (i·kw + j)·cin + c] = x[n, oh·sH − pT + i·dH, ow·sW − pL + j·dW, c]
//	                        (0 where the tap falls in the padding)
//	W      (K, cout)        the kernel (kh, kw, cin, cout), read row-major
//	y[n]   (P, cout)        = (OH, OW, cout)
//
// Forward:                               Backward (dz = dy ⊙ [y > 0] with ReLU, else dy):
//
//	y[n] = cols · W                        dW    += colsᵀ · dz[n]       (K, cout)
//	y[n] += bias  (each row)               dB    += Σ_p dz[n][p, :]     (cout)
//	y[n] = max(y[n], 0)  (ReLU)            dcols  = dz[n] · Wᵀ          (P, K)
//	                                       dx[n]  = col2im(dcols)       each entry added back to the pixel it came from
//
// One image at a time bounds cols to P·K floats (115 MB for VGG16's
// block1_conv2), which is the whole cost of being simple.
type referenceConv struct {
	cols  []float32 // im2col of one image (P × K)
	dcols []float32 // its gradient (P × K)
	dz    []float32 // dy masked by ReLU
}

// referenceBLAS is the BLAS the reference runs on: Gonum's interface, our
// SGEMM (kernels.BLAS).
func referenceBLAS() blas.Float32 { return kernels.BLAS }

func (r *referenceConv) forward(c *Conv2D, g *convGeom, x, y []float32, _ bool) bool {
	bl := referenceBLAS()
	P, K, cout := g.gh.out*g.gw.out, g.K, c.cout
	imgIn, imgOut := g.H*g.W*c.cin, P*cout
	w, bias := c.Kernel.Value.Data, c.bias()
	r.cols = ensure(r.cols, P*K)
	for n := range g.N {
		r.im2col(c, g, x[n*imgIn:(n+1)*imgIn])
		// y[n] (P × cout) = cols (P × K) · W (K × cout)
		bl.Sgemm(blas.NoTrans, blas.NoTrans, P, cout, K, 1, r.cols, K, w, cout, 0, y[n*imgOut:(n+1)*imgOut], cout)
	}
	for p := range g.M {
		row := y[p*cout : (p+1)*cout]
		for m := range row {
			if bias != nil {
				row[m] += bias[m]
			}
			if c.opt.ReLU && !(row[m] > 0) {
				row[m] = 0
			}
		}
	}
	return false
}

func (r *referenceConv) backward(c *Conv2D, g *convGeom, dy []float32, wantW bool) *tensor.Tensor {
	bl := referenceBLAS()
	P, K, cout := g.gh.out*g.gw.out, g.K, c.cout
	imgIn, imgOut := g.H*g.W*c.cin, P*cout
	dz := dy
	if c.opt.ReLU { // dz = dy ⊙ [y > 0]
		r.dz = ensure(r.dz, len(dy))
		for i, v := range dy {
			r.dz[i] = 0
			if c.y.Data[i] > 0 {
				r.dz[i] = v
			}
		}
		dz = r.dz
	}
	var dw, db []float32
	if wantW {
		dw = gradFor(c.Kernel).Data
		clear(dw)
		if db = c.biasGrad(wantW); db != nil {
			clear(db)
		}
		r.cols = ensure(r.cols, P*K)
	}
	var dx *tensor.Tensor
	if c.inputGrad {
		var zeroed bool
		if dx, zeroed = c.gradInput(c.xShape); !zeroed {
			dx.Zero()
		}
		r.dcols = ensure(r.dcols, P*K)
	}
	w := c.Kernel.Value.Data
	for n := range g.N {
		dzn := dz[n*imgOut : (n+1)*imgOut]
		if wantW {
			r.im2col(c, g, c.x.Data[n*imgIn:(n+1)*imgIn])
			// dW (K × cout) += colsᵀ (K × P) · dz[n] (P × cout)
			bl.Sgemm(blas.Trans, blas.NoTrans, K, cout, P, 1, r.cols, K, dzn, cout, 1, dw, cout)
			for p := 0; db != nil && p < P; p++ {
				for m, v := range dzn[p*cout : (p+1)*cout] {
					db[m] += v
				}
			}
		}
		if dx != nil {
			// dcols (P × K) = dz[n] (P × cout) · Wᵀ (cout × K)
			bl.Sgemm(blas.NoTrans, blas.Trans, P, K, cout, 1, dzn, cout, w, cout, 0, r.dcols, K)
			r.col2im(c, g, dx.Data[n*imgIn:(n+1)*imgIn])
		}
	}
	return dx
}

// tap returns the input pixel (ih, iw) that output pixel (oh, ow) reads
// through kernel tap (i, j), and whether it lies inside the image.
func tap(g *convGeom, oh, ow, i, j int) (ih, iw int, inside bool) {
	ih = oh*g.gh.stride - g.gh.padBegin + i*g.gh.dilation
	iw = ow*g.gw.stride - g.gw.padBegin + j*g.gw.dilation
	return ih, iw, ih >= 0 && ih < g.H && iw >= 0 && iw < g.W
}

// im2col fills r.cols (P × K) from one image x (H, W, cin).
func (r *referenceConv) im2col(c *Conv2D, g *convGeom, x []float32) {
	cin, K := c.cin, g.K
	for oh := range g.gh.out {
		for ow := range g.gw.out {
			row := r.cols[(oh*g.gw.out+ow)*K : (oh*g.gw.out+ow+1)*K]
			for i := range c.kh {
				for j := range c.kw {
					dst := row[(i*c.kw+j)*cin : (i*c.kw+j+1)*cin]
					if ih, iw, ok := tap(g, oh, ow, i, j); ok {
						copy(dst, x[(ih*g.W+iw)*cin:(ih*g.W+iw+1)*cin])
					} else {
						clear(dst)
					}
				}
			}
		}
	}
}

// col2im adds r.dcols (P × K) into one image's dx (H, W, cin): the adjoint
// of im2col, so taps that several output pixels share are summed and
// padding taps are dropped.
func (r *referenceConv) col2im(c *Conv2D, g *convGeom, dx []float32) {
	cin, K := c.cin, g.K
	for oh := range g.gh.out {
		for ow := range g.gw.out {
			row := r.dcols[(oh*g.gw.out+ow)*K : (oh*g.gw.out+ow+1)*K]
			for i := range c.kh {
				for j := range c.kw {
					ih, iw, ok := tap(g, oh, ow, i, j)
					if !ok {
						continue
					}
					dst := dx[(ih*g.W+iw)*cin : (ih*g.W+iw+1)*cin]
					for k, v := range row[(i*c.kw+j)*cin : (i*c.kw+j+1)*cin] {
						dst[k] += v
					}
				}
			}
		}
	}
}
