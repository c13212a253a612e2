package main

import "fmt"

// The peak-FMA loops of kernels/internal/peak (benchmarks only): n
// iterations of independent FMA chains with no memory traffic, the
// machine's FMA ceiling measured in the same run as the kernels.

// fmaPeak is one register width of the plain peak loop.
type fmaPeak struct {
	fn    goFunc
	reg   string // register prefix: Z or Y
	accs  int    // independent accumulators (Z4–Z27, or Y4–Y15)
	zero  string // instruction clearing a register
	label string
}

var fmaPeaks = []fmaPeak{
	{reg: "Z", accs: 24, zero: "VPXORD", label: "zmm_loop", fn: goFunc{name: "FMAPeakZmm", params: "n int",
		doc: []string{"FMAPeakZmm runs n iterations of 24 independent zmm FMAs: 768 FLOPs each", "(AVX-512F only)."}}},
	{reg: "Y", accs: 12, zero: "VXORPS", label: "ymm_loop", fn: goFunc{name: "FMAPeakYmm", params: "n int",
		doc: []string{"FMAPeakYmm runs n iterations of 12 independent ymm FMAs: 192 FLOPs each", "(AVX2 and FMA)."}}},
}

func peakLoop(a *asm, p fmaPeak) {
	f := p.fn
	r := func(i int) string { return fmt.Sprintf("%s%d", p.reg, i) }
	a.text(f)
	a.op("MOVQ %s, CX", f.arg("n"))
	for i := range p.accs {
		a.op("%s %s, %s, %s", p.zero, r(4+i), r(4+i), r(4+i))
	}
	a.op("%s %s, %s, %s", p.zero, r(0), r(0), r(0))
	a.op("%s %s, %s, %s", p.zero, r(1), r(1), r(1))
	a.label(p.label)
	for i := range p.accs {
		a.op("VFMADD231PS %s, %s, %s", r(0), r(1), r(4+i))
	}
	a.op("DECQ CX")
	a.op("JNE %s", p.label)
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}

var fmaLoadPeakFn = goFunc{name: "FMALoadPeakZmm", params: "n int, b, a *float32",
	asmNote: []string{"n iterations of the micro-kernel's load pattern without its misses:", "two zmm loads from b and twelve broadcasts from a (both stay in L1),", "feeding 24 independent FMA chains: 768 FLOPs and 14 loads per iteration."},
	doc:     []string{"FMALoadPeakZmm is FMAPeakZmm with the AVX-512 micro-kernel's loads added:", "per iteration two zmm loads from b (32 floats) and twelve broadcasts from a", "(12 floats), all L1 hits, feeding the 24 FMAs (768 FLOPs). AVX-512F only."}}

func fmaLoadPeak(a *asm) {
	f := fmaLoadPeakFn
	a.text(f)
	a.op("MOVQ %s, CX", f.arg("n"))
	a.op("MOVQ %s, SI", f.arg("b"))
	a.op("MOVQ %s, DI", f.arg("a"))
	for i := 4; i < 28; i++ {
		a.op("VPXORD Z%d, Z%d, Z%d", i, i, i)
	}
	a.label("zmmload_loop")
	a.op("VMOVUPS 0(SI), Z0")
	a.op("VMOVUPS 64(SI), Z1")
	for i := range 12 {
		t := []string{"Z2", "Z3"}[i%2]
		a.op("VBROADCASTSS %d(DI), %s", 4*i, t)
		a.op("VFMADD231PS Z0, %s, Z%d", t, 4+2*i)
		a.op("VFMADD231PS Z1, %s, Z%d", t, 5+2*i)
	}
	a.op("DECQ CX")
	a.op("JNE zmmload_loop")
	a.op("VZEROUPPER")
	a.op("RET")
	a.blank()
}
