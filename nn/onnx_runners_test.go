package nn_test

import (
	"fmt"
	"math"

	"github.com/gotransfer/gotransfer/kernels"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/optim"
	"github.com/gotransfer/gotransfer/tensor"
)

// One runner per ONNX op: inputs as stored (NCHW images) in, outputs as ONNX
// lays them out. Image ops transpose to NHWC and back; the optimizers call
// optim's update rules.

var runners = map[string]func(c *onnxCase) ([]*npyArray, error){
	"Conv":                    runConv,
	"MaxPool":                 runPool,
	"AveragePool":             runPool,
	"GlobalAveragePool":       runGlobalPool,
	"GlobalMaxPool":           runGlobalPool,
	"Gemm":                    runGemm,
	"MatMul":                  runMatMul,
	"Relu":                    runRelu,
	"Softmax":                 runSoftmax,
	"LogSoftmax":              runSoftmax,
	"Flatten":                 runFlatten,
	"Dropout":                 runDropout,
	"Add":                     runAdd,
	"SoftmaxCrossEntropyLoss": runSCE,
	"Momentum":                runMomentum,
	"Adam":                    runAdam,
	"Adagrad":                 runAdagrad,
}

func runConv(c *onnxCase) ([]*npyArray, error) {
	if g := c.attrInt("group", 1); g != 1 {
		return nil, unsupported("group %d", g)
	}
	x, err := nchwToNHWC(c.in[0])
	if err != nil {
		return nil, err
	}
	w := c.in[1] // (M, C, kH, kW)
	if len(w.Shape) != 4 {
		return nil, unsupported("weight %v", w.Shape)
	}
	M, C, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	kernel := c.attrInts("kernel_shape", []int{kh, kw})
	if kernel[0] != kh || kernel[1] != kw {
		return nil, fmt.Errorf("kernel_shape %v disagrees with weight %v", kernel, w.Shape)
	}
	padding, pads, s, d, err := c.window(kernel)
	if err != nil {
		return nil, err
	}
	conv := nn.NewConv2D("conv", kh, kw, C, M, nn.ConvOptions{StrideH: s[0], StrideW: s[1], Padding: padding, Pads: pads,
		DilationH: d[0], DilationW: d[1], NoBias: len(c.in) < 3})
	k := conv.Kernel.Value.Data // (kh, kw, C, M) = OIHW permuted (2, 3, 1, 0)
	for m := 0; m < M; m++ {
		for ci := 0; ci < C; ci++ {
			for i := 0; i < kh; i++ {
				for j := 0; j < kw; j++ {
					k[((i*kw+j)*C+ci)*M+m] = w.F32[((m*C+ci)*kh+i)*kw+j]
				}
			}
		}
	}
	if len(c.in) >= 3 {
		copy(conv.Bias.Value.Data, c.in[2].F32)
	}
	if _, err := conv.OutputShape(x.Shape); err != nil {
		return nil, err
	}
	return []*npyArray{nhwcToNCHW(conv.Forward(x, false))}, nil
}

func runPool(c *onnxCase) ([]*npyArray, error) {
	x, err := nchwToNHWC(c.in[0])
	if err != nil {
		return nil, err
	}
	kernel := c.attrInts("kernel_shape", nil)
	padding, pads, s, d, err := c.window(kernel)
	if err != nil {
		return nil, err
	}
	isMax := c.Op == "MaxPool"
	p := nn.NewPool2D("pool", isMax, nn.PoolOptions{KH: kernel[0], KW: kernel[1], StrideH: s[0], StrideW: s[1],
		Padding: padding, Pads: pads, DilationH: d[0], DilationW: d[1],
		CeilMode: c.attrInt("ceil_mode", 0) == 1, CountIncludePad: c.attrInt("count_include_pad", 0) == 1})
	if _, err := p.OutputShape(x.Shape); err != nil {
		return nil, err
	}
	if !isMax {
		return []*npyArray{nhwcToNCHW(p.Forward(x, false))}, nil
	}
	y, arg := p.ForwardArgMax(x)
	outs := []*npyArray{nhwcToNCHW(y)}
	if len(c.Outputs) > 1 {
		// Decode NHWC flat indices to (n, h, w, c), re-encode as ONNX NCHW indices, and lay them out NCHW.
		H, W, C := x.Shape[1], x.Shape[2], x.Shape[3]
		order := c.attrInt("storage_order", 0)
		idx := tensor.New(y.Shape...)
		ind := make([]int64, len(arg))
		for o, a := range arg {
			a := int(a)
			n, h, w, ch := a/(H*W*C), a/(W*C)%H, a/C%W, a%C
			if order == 0 {
				ind[o] = int64(((n*C+ch)*H+h)*W + w)
			} else {
				ind[o] = int64((n*C+ch)*H*W + w*H + h)
			}
			idx.Data[o] = float32(o)
		}
		perm := nhwcToNCHW(idx) // perm.F32[k] = NHWC position of NCHW element k
		out := make([]int64, len(ind))
		for k, v := range perm.F32 {
			out[k] = ind[int(v)]
		}
		outs = append(outs, &npyArray{Shape: perm.Shape, I64: out})
	}
	return outs, nil
}

func runGlobalPool(c *onnxCase) ([]*npyArray, error) {
	x, err := nchwToNHWC(c.in[0])
	if err != nil {
		return nil, err
	}
	l := nn.NewGlobalAvgPool2D("gap")
	if c.Op == "GlobalMaxPool" {
		l = nn.NewGlobalMaxPool2D("gmp")
	}
	y := l.Forward(x, false) // (N, C)
	return []*npyArray{f32([]int{y.Shape[0], y.Shape[1], 1, 1}, y.Data)}, nil
}

// runGemm: Y = alpha·A'·B' + beta·C, C broadcast to (M, N). The plain
// Linear form (alpha = beta = 1, no transA, C absent or a row vector) goes
// through nn.Dense; the rest through kernels.Sgemm.
func runGemm(c *onnxCase) ([]*npyArray, error) {
	A, B := c.in[0], c.in[1]
	if len(A.Shape) != 2 || len(B.Shape) != 2 {
		return nil, fmt.Errorf("Gemm wants 2-D A, B: %v %v", A.Shape, B.Shape)
	}
	ta, tb := c.attrInt("transA", 0) == 1, c.attrInt("transB", 0) == 1
	alpha, beta := float32(c.attrFloat("alpha", 1)), float32(c.attrFloat("beta", 1))
	M, K := A.Shape[0], A.Shape[1]
	if ta {
		M, K = K, M
	}
	N := B.Shape[1]
	if tb {
		N = B.Shape[0]
	}
	var Cm *npyArray
	if len(c.in) > 2 {
		Cm = c.in[2]
	}
	rowBias := Cm == nil || Cm.Shape2D() == [2]int{1, N}
	if !ta && alpha == 1 && beta == 1 && rowBias {
		d := nn.NewDense("linear", K, N, false)
		for k := 0; k < K; k++ {
			for n := 0; n < N; n++ {
				if tb {
					d.Kernel.Value.Data[k*N+n] = B.F32[n*K+k]
				} else {
					d.Kernel.Value.Data[k*N+n] = B.F32[k*N+n]
				}
			}
		}
		if Cm != nil {
			copy(d.Bias.Value.Data, Cm.F32)
		}
		y := d.Forward(tensor.FromData(A.F32, M, K), false)
		return []*npyArray{f32([]int{M, N}, y.Data)}, nil
	}
	y := make([]float32, M*N)
	if Cm != nil {
		sh := Cm.Shape2D()
		for i := 0; i < M; i++ {
			for j := 0; j < N; j++ {
				y[i*N+j] = Cm.F32[(i%sh[0])*sh[1]+j%sh[1]]
			}
		}
	}
	if Cm == nil {
		beta = 0
	}
	kernels.Sgemm(ta, tb, M, N, K, alpha, A.F32, A.Shape[1], B.F32, B.Shape[1], beta, y, N)
	return []*npyArray{f32([]int{M, N}, y)}, nil
}

// Shape2D views a Gemm C operand's shape ([], [n], [1,n], [m,n]) as 2-D.
func (a *npyArray) Shape2D() [2]int {
	switch len(a.Shape) {
	case 0:
		return [2]int{1, 1}
	case 1:
		return [2]int{1, a.Shape[0]}
	default:
		return [2]int{a.Shape[0], a.Shape[1]}
	}
}

func runMatMul(c *onnxCase) ([]*npyArray, error) {
	A, B := c.in[0], c.in[1]
	if len(A.Shape) != 2 || len(B.Shape) != 2 {
		return nil, unsupported("MatMul of %v × %v (only 2-D)", A.Shape, B.Shape)
	}
	M, K, N := A.Shape[0], A.Shape[1], B.Shape[1]
	d := nn.NewDense("matmul", K, N, false)
	copy(d.Kernel.Value.Data, B.F32)
	y := d.Forward(tensor.FromData(A.F32, M, K), false)
	return []*npyArray{f32([]int{M, N}, y.Data)}, nil
}

func runRelu(c *onnxCase) ([]*npyArray, error) {
	x := c.in[0]
	y := nn.NewReLU("relu").Forward(tensor.FromData(x.F32, x.Shape...), false)
	return []*npyArray{f32(x.Shape, y.Data)}, nil
}

func runSoftmax(c *onnxCase) ([]*npyArray, error) {
	x := c.in[0]
	axis := c.attrInt("axis", -1)
	y := nn.SoftmaxAxis(tensor.FromData(x.F32, x.Shape...), axis, c.Op == "LogSoftmax")
	return []*npyArray{f32(x.Shape, y.Data)}, nil
}

func runFlatten(c *onnxCase) ([]*npyArray, error) {
	x := c.in[0]
	axis := c.attrInt("axis", 1)
	if axis < 0 {
		axis += len(x.Shape)
	}
	if axis < 0 || axis > len(x.Shape) {
		return nil, fmt.Errorf("axis %d for rank %d", axis, len(x.Shape))
	}
	outer := tensor.Shape(x.Shape[:axis]).Size()
	t := tensor.FromData(x.F32, append([]int{outer}, x.Shape[axis:]...)...)
	y := nn.NewFlatten("flatten").Forward(t, false)
	return []*npyArray{f32([]int{y.Shape[0], y.Shape[1]}, y.Data)}, nil
}

func runDropout(c *onnxCase) ([]*npyArray, error) {
	if len(c.Outputs) > 1 {
		return nil, unsupported("Dropout mask output")
	}
	x := c.in[0]
	rate := c.attrFloat("ratio", 0.5)
	if len(c.in) > 1 && len(c.in[1].F32) == 1 {
		rate = float64(c.in[1].F32[0])
	}
	if len(c.in) > 2 {
		return nil, unsupported("training_mode input")
	}
	y := nn.NewDropout("dropout", rate, 1).Forward(tensor.FromData(x.F32, x.Shape...), false)
	return []*npyArray{f32(x.Shape, y.Data)}, nil
}

// runAdd: NumPy broadcasting of two float32 arrays.
func runAdd(c *onnxCase) ([]*npyArray, error) {
	a, b := c.in[0], c.in[1]
	r := max(len(a.Shape), len(b.Shape))
	pad := func(s []int) []int { return append(make([]int, r-len(s)), s...) }
	sa, sb := pad(a.Shape), pad(b.Shape)
	out := make([]int, r)
	for i := range out {
		da, db := max(sa[i], 1), max(sb[i], 1)
		if len(a.Shape) < r-i {
			da = 1
		}
		if len(b.Shape) < r-i {
			db = 1
		}
		sa[i], sb[i] = da, db
		if da != db && da != 1 && db != 1 {
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a.Shape, b.Shape)
		}
		out[i] = max(da, db)
	}
	n := tensor.Shape(out).Size()
	y := make([]float32, n)
	idx := make([]int, r)
	for k := 0; k < n; k++ {
		ia, ib := 0, 0
		for i := 0; i < r; i++ {
			ia = ia*sa[i] + idx[i]%sa[i]
			ib = ib*sb[i] + idx[i]%sb[i]
		}
		y[k] = a.F32[ia] + b.F32[ib]
		for i := r - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < out[i] {
				break
			}
			idx[i] = 0
		}
	}
	return []*npyArray{f32(out, y)}, nil
}

// runSCE: scores (N, C, d...) -> rows (N·D, C) with the class axis last;
// labels (N, d...) -> N·D labels in the same order.
func runSCE(c *onnxCase) ([]*npyArray, error) {
	s, lab := c.in[0], c.in[1]
	if len(s.Shape) < 2 || lab.I64 == nil {
		return nil, fmt.Errorf("scores %v / labels", s.Shape)
	}
	N, C := s.Shape[0], s.Shape[1]
	D := tensor.Shape(s.Shape[2:]).Size()
	rows := tensor.New(N*D, C)
	for n := 0; n < N; n++ {
		for ci := 0; ci < C; ci++ {
			for d := 0; d < D; d++ {
				rows.Data[(n*D+d)*C+ci] = s.F32[(n*C+ci)*D+d]
			}
		}
	}
	labels := make([]int, len(lab.I64))
	for i, v := range lab.I64 {
		labels[i] = int(v)
	}
	loss := &nn.SoftmaxCrossEntropy{WeightedMean: true}
	if len(c.in) > 2 {
		loss.ClassWeights = c.in[2].F32
	}
	var ii int
	if c.attr("ignore_index", &ii) {
		loss.UseIgnoreIndex, loss.IgnoreIndex = true, ii
	}
	logProb, per, w, err := loss.PerSample(rows, labels)
	if err != nil {
		return nil, err
	}
	var out *npyArray
	switch red := c.attrString("reduction", "mean"); red {
	case "none":
		v := make([]float32, len(per))
		for i := range per {
			v[i] = float32(w[i] * per[i])
		}
		out = f32(lab.Shape, v)
	case "sum":
		total := 0.0
		for i := range per {
			total += w[i] * per[i]
		}
		out = f32([]int{}, []float32{float32(total)})
	case "mean":
		l, _ := loss.Loss(rows, labels)
		out = f32([]int{}, []float32{l})
	default:
		return nil, unsupported("reduction %q", red)
	}
	outs := []*npyArray{out}
	if len(c.Outputs) > 1 {
		lp := make([]float32, len(s.F32))
		for n := 0; n < N; n++ {
			for ci := 0; ci < C; ci++ {
				for d := 0; d < D; d++ {
					lp[(n*C+ci)*D+d] = logProb.Data[(n*D+d)*C+ci]
				}
			}
		}
		outs = append(outs, f32(s.Shape, lp))
	}
	return outs, nil
}

// optimizerInputs splits R, T, then num_tensors groups of (X..., G..., states...).
func optimizerInputs(c *onnxCase, states int) (lr float64, t int64, groups [][]*npyArray, err error) {
	n := c.Variadic.NumTensors
	if n <= 0 || len(c.in) != 2+n*(2+states) {
		return 0, 0, nil, fmt.Errorf("%d inputs for %d tensors with %d states", len(c.in), n, states)
	}
	if len(c.in[0].F32) != 1 || len(c.in[1].I64) != 1 {
		return 0, 0, nil, fmt.Errorf("R and T must be scalars")
	}
	groups = make([][]*npyArray, 2+states)
	for g := range groups {
		for i := 0; i < n; i++ {
			a := c.in[2+g*n+i]
			groups[g] = append(groups[g], &npyArray{Shape: a.Shape, F32: append([]float32(nil), a.F32...)})
		}
	}
	return float64(c.in[0].F32[0]), c.in[1].I64[0], groups, nil
}

// outputsOf lists the new X's then each state group, as ONNX orders them.
func outputsOf(groups [][]*npyArray) []*npyArray {
	outs := append([]*npyArray(nil), groups[0]...)
	for _, g := range groups[2:] {
		outs = append(outs, g...)
	}
	return outs
}

func runMomentum(c *onnxCase) ([]*npyArray, error) {
	lr, t, g, err := optimizerInputs(c, 1)
	if err != nil {
		return nil, err
	}
	mode := c.attrString("mode", "standard")
	if mode != "standard" && mode != "nesterov" {
		return nil, unsupported("mode %q", mode)
	}
	alpha, beta, norm := float32(c.attrFloat("alpha", math.NaN())), float32(c.attrFloat("beta", math.NaN())), float32(c.attrFloat("norm_coefficient", math.NaN()))
	for i := range g[0] {
		optim.MomentumUpdate(g[0][i].F32, g[1][i].F32, g[2][i].F32, float32(lr), alpha, beta, norm, t == 0, mode == "nesterov")
	}
	return outputsOf(g), nil
}

func runAdam(c *onnxCase) ([]*npyArray, error) {
	lr, t, g, err := optimizerInputs(c, 2)
	if err != nil {
		return nil, err
	}
	for i := range g[0] {
		optim.AdamUpdate(g[0][i].F32, g[1][i].F32, g[2][i].F32, g[3][i].F32, t, lr,
			c.attrFloat("alpha", 0.9), c.attrFloat("beta", 0.999), c.attrFloat("epsilon", 1e-6),
			c.attrFloat("norm_coefficient", 0), c.attrFloat("norm_coefficient_post", 0))
	}
	return outputsOf(g), nil
}

func runAdagrad(c *onnxCase) ([]*npyArray, error) {
	lr, t, g, err := optimizerInputs(c, 1)
	if err != nil {
		return nil, err
	}
	for i := range g[0] {
		optim.AdagradUpdate(g[0][i].F32, g[1][i].F32, g[2][i].F32, t, lr,
			c.attrFloat("decay_factor", 0), c.attrFloat("epsilon", 1e-6), c.attrFloat("norm_coefficient", 0))
	}
	return outputsOf(g), nil
}
