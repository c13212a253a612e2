package main

import "fmt"

// The small vector kernels (kernels/vector_amd64.s). The AVX2 ones stream
// 32 floats (four ymm registers) per iteration, then 8 (one ymm), then one
// at a time (scalar instructions on xmm); the Go wrappers in vector.go have
// checked the lengths.

// width is one pass of a streaming loop: n registers of bytes each, or the
// scalar tail (n = 1, 4 bytes, scalar instructions).
type width struct {
	n, bytes int
	scalar   bool
}

var (
	w32 = width{n: 4, bytes: 32}              // 32 floats
	w8  = width{n: 1, bytes: 32}              // 8 floats
	w1  = width{n: 1, bytes: 4, scalar: true} // 1 float
)

// floats is how many floats one pass handles.
func (w width) floats() int { return w.n * w.bytes / 4 }

// ps returns the packed (PS) or scalar (SS) form of an instruction: ps("VADD").
func (w width) ps(op string) string {
	if w.scalar {
		return op + "SS"
	}
	return op + "PS"
}

// mov is the load/store: VMOVUPS, or VMOVSS for one float.
func (w width) mov() string {
	if w.scalar {
		return "VMOVSS"
	}
	return "VMOVUPS"
}

// r returns register number n at this width: Yn, or Xn for the tail.
func (w width) r(n int) string {
	if w.scalar {
		return fmt.Sprintf("X%d", n)
	}
	return fmt.Sprintf("Y%d", n)
}

// at returns the address of register i's data from pointer ptr.
func (w width) at(ptr string, i int) string {
	if i == 0 {
		return fmt.Sprintf("(%s)", ptr)
	}
	return fmt.Sprintf("%d(%s)", i*w.bytes, ptr)
}

// streamKernel is an AVX2 elementwise kernel: data in Y1–Y4 (X1 for the
// tail), a constant in Y0 (X0).
type streamKernel struct {
	fn    goFunc
	label string
	setup func(a *asm, f goFunc)
	ptrs  []string // pointer registers, advanced by the floats done
	wide  bool     // has the 32-float loop (else 8 floats, then one)
	pass  func(a *asm, w width)
}

var streamKernels = []streamKernel{
	{
		fn: goFunc{name: "axpyAVX2", params: "alpha float32, x, y []float32", asmNote: []string{"y[i] += alpha·x[i], i < len(x)"}}, label: "axpy",
		setup: func(a *asm, f goFunc) {
			a.op("VBROADCASTSS %s, Y0", f.arg("alpha"))
			a.op("MOVQ %s, SI", f.arg("x_base"))
			a.op("MOVQ %s, CX", f.arg("x_len"))
			a.op("MOVQ %s, DI", f.arg("y_base"))
		},
		ptrs: []string{"SI", "DI"}, wide: true,
		pass: func(a *asm, w width) {
			for i := range w.n {
				a.op("%s %s, %s", w.mov(), w.at("DI", i), w.r(1+i))
			}
			for i := range w.n {
				a.op("%s %s, %s, %s", w.ps("VFMADD231"), w.at("SI", i), w.r(0), w.r(1+i))
			}
			for i := range w.n {
				a.op("%s %s, %s", w.mov(), w.r(1+i), w.at("DI", i))
			}
		},
	},
	{
		fn: goFunc{name: "scaleAVX2", params: "alpha float32, x []float32", asmNote: []string{"x[i] *= alpha"}}, label: "scale",
		setup: func(a *asm, f goFunc) {
			a.op("VBROADCASTSS %s, Y0", f.arg("alpha"))
			a.op("MOVQ %s, SI", f.arg("x_base"))
			a.op("MOVQ %s, CX", f.arg("x_len"))
		},
		ptrs: []string{"SI"}, wide: true,
		pass: func(a *asm, w width) {
			for i := range w.n {
				a.op("%s %s, %s, %s", w.ps("VMUL"), w.at("SI", i), w.r(0), w.r(1+i))
			}
			for i := range w.n {
				a.op("%s %s, %s", w.mov(), w.r(1+i), w.at("SI", i))
			}
		},
	},
	{
		fn: goFunc{name: "addAVX2", params: "dst, src []float32", asmNote: []string{"dst[i] += src[i], i < len(src)"}}, label: "add",
		setup: func(a *asm, f goFunc) {
			a.op("MOVQ %s, DI", f.arg("dst_base"))
			a.op("MOVQ %s, SI", f.arg("src_base"))
			a.op("MOVQ %s, CX", f.arg("src_len"))
		},
		ptrs: []string{"SI", "DI"}, wide: true,
		pass: func(a *asm, w width) {
			for i := range w.n {
				a.op("%s %s, %s", w.mov(), w.at("DI", i), w.r(1+i))
			}
			for i := range w.n {
				a.op("%s %s, %s, %s", w.ps("VADD"), w.at("SI", i), w.r(1+i), w.r(1+i))
			}
			for i := range w.n {
				a.op("%s %s, %s", w.mov(), w.r(1+i), w.at("DI", i))
			}
		},
	},
	{
		fn: goFunc{name: "reluAVX2", params: "dst, src []float32", asmNote: []string{"dst[i] = max(src[i], 0), NaN → 0", "(VMAXPS returns its second source, the zero, when the first is NaN)."}}, label: "relu",
		setup: func(a *asm, f goFunc) {
			a.op("MOVQ %s, DI", f.arg("dst_base"))
			a.op("MOVQ %s, SI", f.arg("src_base"))
			a.op("MOVQ %s, CX", f.arg("src_len"))
			a.op("VXORPS Y0, Y0, Y0")
		},
		ptrs: []string{"SI", "DI"}, wide: true,
		pass: func(a *asm, w width) {
			for i := range w.n {
				a.op("%s %s, %s", w.mov(), w.at("SI", i), w.r(1+i))
			}
			for i := range w.n {
				a.op("%s %s, %s, %s", w.ps("VMAX"), w.r(0), w.r(1+i), w.r(1+i))
			}
			for i := range w.n {
				a.op("%s %s, %s", w.mov(), w.r(1+i), w.at("DI", i))
			}
		},
	},
	{
		fn: goFunc{name: "reluBackwardAVX2", params: "dx, dy, y []float32", asmNote: []string{"dx[i] = y[i] > 0 ? dy[i] : 0", "(mask = 0 < y, ordered: false for NaN). The one-float tail ANDs with a",
			"16-byte load of dy (VANDPS), which reads up to 12 bytes past dy's last float."}}, label: "relub",
		setup: func(a *asm, f goFunc) {
			a.op("MOVQ %s, DI", f.arg("dx_base"))
			a.op("MOVQ %s, CX", f.arg("dx_len"))
			a.op("MOVQ %s, SI", f.arg("dy_base"))
			a.op("MOVQ %s, DX", f.arg("y_base"))
			a.op("VXORPS Y0, Y0, Y0")
		},
		ptrs: []string{"SI", "DI", "DX"},
		pass: func(a *asm, w width) {
			a.op("%s $0x11, (DX), %s, %s", w.ps("VCMP"), w.r(0), w.r(1))
			a.op("VANDPS (SI), %s, %s", w.r(1), w.r(1))
			a.op("%s %s, (DI)", w.mov(), w.r(1))
		},
	},
}

// streamLoops writes an elementwise kernel's loops.
func streamLoops(a *asm, k streamKernel) {
	a.text(k.fn)
	k.setup(a, k.fn)
	l := func(name string) string { return k.label + "_" + name }
	widths := []width{w8, w1}
	names := []string{"loop8", "tail", "done"}
	if k.wide {
		widths = []width{w32, w8, w1}
		names = []string{"loop32", "loop8", "tail", "done"}
	}
	for j, w := range widths {
		a.countedLoop(l(names[j]), l(names[j+1]), w.floats(), steps(w.n*w.bytes, k.ptrs...), func() { k.pass(a, w) })
	}
	a.label(l("done"))
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

// reduction is an AVX2 sum over one or two slices into four accumulators
// Y0–Y3 (Y0 alone for 8 floats, X2 for the one-float tail), temporaries
// Y4–Y7 (X4).
type reduction struct {
	fn    goFunc
	label string
	ptrs  []string
	setup func(a *asm, f goFunc)
	pass  func(a *asm, w width, acc func(i int) string, tmp func(i int) string)
}

var reductions = []reduction{
	{
		fn: goFunc{name: "sumAVX2", params: "x []float32", result: "float32", asmNote: []string{"Σ x[i]"}}, label: "sum", ptrs: []string{"SI"},
		setup: func(a *asm, f goFunc) {
			a.op("MOVQ %s, SI", f.arg("x_base"))
			a.op("MOVQ %s, CX", f.arg("x_len"))
		},
		pass: func(a *asm, w width, acc, tmp func(int) string) {
			for i := range w.n {
				a.op("%s %s, %s, %s", w.ps("VADD"), w.at("SI", i), acc(i), acc(i))
			}
		},
	},
	{
		fn: goFunc{name: "dotAVX2", params: "x, y []float32", result: "float32", asmNote: []string{"Σ x[i]·y[i], i < len(x)"}}, label: "dot", ptrs: []string{"SI", "DI"},
		setup: func(a *asm, f goFunc) {
			a.op("MOVQ %s, SI", f.arg("x_base"))
			a.op("MOVQ %s, CX", f.arg("x_len"))
			a.op("MOVQ %s, DI", f.arg("y_base"))
		},
		pass: func(a *asm, w width, acc, tmp func(int) string) {
			for i := range w.n {
				a.op("%s %s, %s", w.mov(), w.at("SI", i), tmp(i))
			}
			for i := range w.n {
				a.op("%s %s, %s, %s", w.ps("VFMADD231"), w.at("DI", i), tmp(i), acc(i))
			}
		},
	},
}

// reductionLoops writes a reduction: the vector loops, the horizontal sum
// of Y0–Y3 into X0, then the scalar tail into X2, added last.
func reductionLoops(a *asm, k reduction) {
	a.text(k.fn)
	k.setup(a, k.fn)
	l := func(name string) string { return k.label + "_" + name }
	for i := range 4 {
		a.op("VXORPS Y%d, Y%d, Y%d", i, i, i)
	}
	vacc := func(i int) string { return fmt.Sprintf("Y%d", i) }
	vtmp := func(i int) string { return fmt.Sprintf("Y%d", 4+i) }
	a.countedLoop(l("loop32"), l("loop8"), 32, steps(128, k.ptrs...), func() { k.pass(a, w32, vacc, vtmp) })
	a.countedLoop(l("loop8"), l("reduce"), 8, steps(32, k.ptrs...), func() { k.pass(a, w8, vacc, vtmp) })
	a.label(l("reduce"))
	a.op("VADDPS Y1, Y0, Y0")
	a.op("VADDPS Y3, Y2, Y2")
	a.op("VADDPS Y2, Y0, Y0")
	a.op("VEXTRACTF128 $1, Y0, X1")
	a.op("VADDPS X1, X0, X0")
	a.op("VMOVHLPS X0, X1, X1")
	a.op("VADDPS X1, X0, X0")
	a.op("VMOVSHDUP X0, X1")
	a.op("VADDSS X1, X0, X0")
	a.op("VXORPS X2, X2, X2")
	a.countedLoop(l("tail"), l("done"), 1, steps(4, k.ptrs...), func() {
		k.pass(a, w1, func(int) string { return "X2" }, func(int) string { return "X4" })
	})
	a.label(l("done"))
	a.op("VADDSS X2, X0, X0")
	a.op("VMOVSS X0, %s", k.fn.arg("ret"))
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

// The AVX-512 ReLU bit masks: 16 floats per 16-bit mask word, four words
// per iteration (K1–K4), then one at a time. CX counts words.

var reluMaskFn = goFunc{name: "reluMaskAVX512", params: "mask []uint16, y []float32",
	asmNote: []string{"mask[w] = bits of (0 < y[16w+b]) for b < 16 (ordered compare: NaN gives 0),", "for w < len(y)/16; four words per iteration, then one at a time."}}

var reluBackwardMaskFn = goFunc{name: "reluBackwardMaskAVX512", params: "dx, dy []float32, mask []uint16",
	asmNote: []string{"dx[i] = bit i%16 of mask[i/16] ? dy[i] : 0 for i < len(dx)/16*16: dy loaded", "under the mask with zeroing."}}

func reluMask(a *asm) {
	f := reluMaskFn
	a.text(f)
	a.op("MOVQ %s, DI", f.arg("mask_base"))
	a.op("MOVQ %s, SI", f.arg("y_base"))
	a.op("MOVQ %s, CX", f.arg("y_len"))
	a.op("SHRQ $4, CX")
	a.op("VPXORD Z0, Z0, Z0")
	pass := func(words int) {
		for i := range words {
			a.op("VCMPPS $0x11, %s, Z0, K%d", zmmAt("SI", i), 1+i)
		}
		for i := range words {
			a.op("KMOVW K%d, %s", 1+i, wordAt("DI", i))
		}
	}
	a.countedLoop("rmask_loop4", "rmask_tail", 4, []ptrStep{{"SI", 256}, {"DI", 8}}, func() { pass(4) })
	a.countedLoop("rmask_tail", "rmask_done", 1, []ptrStep{{"SI", 64}, {"DI", 2}}, func() { pass(1) })
	a.label("rmask_done")
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

func reluBackwardMask(a *asm) {
	f := reluBackwardMaskFn
	a.text(f)
	a.op("MOVQ %s, DI", f.arg("dx_base"))
	a.op("MOVQ %s, CX", f.arg("dx_len"))
	a.op("MOVQ %s, SI", f.arg("dy_base"))
	a.op("MOVQ %s, DX", f.arg("mask_base"))
	a.op("SHRQ $4, CX")
	pass := func(words int) {
		for i := range words {
			a.op("KMOVW %s, K%d", wordAt("DX", i), 1+i)
		}
		for i := range words {
			a.op("VMOVUPS.Z %s, K%d, Z%d", zmmAt("SI", i), 1+i, i)
		}
		for i := range words {
			a.op("VMOVUPS Z%d, %s", i, zmmAt("DI", i))
		}
	}
	a.countedLoop("rbmask_loop4", "rbmask_tail", 4, []ptrStep{{"SI", 256}, {"DI", 256}, {"DX", 8}}, func() { pass(4) })
	a.countedLoop("rbmask_tail", "rbmask_done", 1, []ptrStep{{"SI", 64}, {"DI", 64}, {"DX", 2}}, func() { pass(1) })
	a.label("rbmask_done")
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

// zmmAt and wordAt address the i-th zmm (64 bytes) or mask word (2 bytes)
// from ptr.
func zmmAt(ptr string, i int) string  { return width{n: 1, bytes: 64}.at(ptr, i) }
func wordAt(ptr string, i int) string { return width{n: 1, bytes: 2}.at(ptr, i) }
