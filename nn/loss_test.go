package nn

import (
	"math"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// refSCE is an independent float64 softmax cross-entropy with class
// weights w (nil = 1), label smoothing eps and normaliser N (Keras) or Σw.
func refSCE(logits []float64, labels []int, K int, w []float64, eps float64, weightedMean bool) float64 {
	total, norm := 0.0, 0.0
	for i, y := range labels {
		row := logits[i*K : (i+1)*K]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		lse := 0.0
		for _, v := range row {
			lse += math.Exp(v - mx)
		}
		lse = mx + math.Log(lse)
		ce := 0.0
		for k, v := range row {
			t := eps / float64(K)
			if k == y {
				t += 1 - eps
			}
			ce -= t * (v - lse)
		}
		wi := 1.0
		if w != nil {
			wi = w[y]
		}
		total += wi * ce
		if weightedMean {
			norm += wi
		} else {
			norm++
		}
	}
	return total / norm
}

func TestSoftmaxCrossEntropyGradients(t *testing.T) {
	rng := tensor.NewRNG(9)
	N, K := 6, 5
	labels := []int{0, 4, 2, 2, 1, 3}
	for _, c := range []struct {
		weights      []float32
		eps          float32
		weightedMean bool
	}{{nil, 0, false}, {nil, 0.1, false}, {[]float32{1, 2, 0.5, 3, 1.5}, 0, false}, {[]float32{1, 2, 0.5, 3, 1.5}, 0.2, true}} {
		logits := randTensor(rng, N, K)
		tensor.Normal(logits, 0, 3, rng)
		l := &SoftmaxCrossEntropy{ClassWeights: c.weights, LabelSmoothing: c.eps, WeightedMean: c.weightedMean}
		loss, d := l.Loss(logits, labels)
		var w64 []float64
		if c.weights != nil {
			w64 = to64(c.weights)
		}
		x := to64(logits.Data)
		want := refSCE(x, labels, K, w64, float64(c.eps), c.weightedMean)
		if math.Abs(float64(loss)-want) > 1e-5*math.Abs(want) {
			t.Fatalf("%+v: loss %g, want %g", c, loss, want)
		}
		const h = 1e-6
		for i := range x {
			old := x[i]
			x[i] = old + h
			fp := refSCE(x, labels, K, w64, float64(c.eps), c.weightedMean)
			x[i] = old - h
			fm := refSCE(x, labels, K, w64, float64(c.eps), c.weightedMean)
			x[i] = old
			num := (fp - fm) / (2 * h)
			if math.Abs(float64(d.Data[i])-num) > 1e-4*math.Abs(num)+1e-6 {
				t.Fatalf("%+v: dlogits[%d] = %g, finite difference %g", c, i, d.Data[i], num)
			}
		}
	}
}

// Keras class_weight: weights multiply each sample's loss and the batch mean
// divides by the number of samples. Worked by hand: two samples with equal
// logits over 2 classes have ℓ = ln 2 each; weights 3 and 1 give (3+1)·ln2/2.
func TestSoftmaxCrossEntropyKerasClassWeight(t *testing.T) {
	logits := tensor.New(2, 2)
	l := &SoftmaxCrossEntropy{ClassWeights: []float32{3, 1}}
	loss, _ := l.Loss(logits, []int{0, 1})
	if want := 2 * math.Ln2; math.Abs(float64(loss)-want) > 1e-6 {
		t.Fatalf("Keras rule: loss %g, want %g", loss, want)
	}
	l.WeightedMean = true
	if loss, _ = l.Loss(logits, []int{0, 0}); math.Abs(float64(loss)-math.Ln2) > 1e-6 {
		t.Fatalf("weighted mean: loss %g, want ln 2", loss)
	}
}

// Huge logits must not overflow: logits (10000, 0) with label 1 cost 10000.
func TestSoftmaxCrossEntropyStable(t *testing.T) {
	logits := tensor.FromData([]float32{1e4, 0, -1e4, 1e4}, 2, 2)
	loss, d := (&SoftmaxCrossEntropy{}).Loss(logits, []int{1, 1})
	if math.Abs(float64(loss)-5000) > 1e-2 || math.IsNaN(float64(d.Data[0])) {
		t.Fatalf("loss %g (want 5000), dlogits %v", loss, d.Data)
	}
	if math.Abs(float64(d.Data[0])-0.5) > 1e-6 || math.Abs(float64(d.Data[1])+0.5) > 1e-6 {
		t.Fatalf("dlogits %v, want [0.5 -0.5 0 0]", d.Data)
	}
}

func TestSoftmaxCrossEntropyIgnoreIndex(t *testing.T) {
	rng := tensor.NewRNG(3)
	logits := randTensor(rng, 3, 4)
	l := &SoftmaxCrossEntropy{UseIgnoreIndex: true, IgnoreIndex: -1}
	loss, d := l.Loss(logits, []int{2, -1, 0})
	want := refSCE(to64(append(append([]float32{}, logits.Data[0:4]...), logits.Data[8:12]...)), []int{2, 0}, 4, nil, 0, false)
	if math.Abs(float64(loss)-want) > 1e-5 {
		t.Fatalf("loss %g, want %g", loss, want)
	}
	for _, v := range d.Data[4:8] {
		if v != 0 {
			t.Fatalf("ignored sample has gradient %v", d.Data[4:8])
		}
	}
	if _, _, _, err := (&SoftmaxCrossEntropy{}).PerSample(logits, []int{0, 4, 1}); err == nil {
		t.Fatal("label 4 of 4 classes accepted")
	}
}

func TestDropout(t *testing.T) {
	x := tensor.New(50, 40)
	x.Fill(2)
	d := NewDropout("drop", 0.25, 11)
	if y := d.Forward(x, false); y != x {
		t.Fatal("inference dropout must be the identity")
	}
	y := d.Forward(x, true)
	zeros := 0
	for _, v := range y.Data {
		switch {
		case v == 0:
			zeros++
		case math.Abs(float64(v)-2/0.75) > 1e-6:
			t.Fatalf("kept value %g, want %g", v, 2/0.75)
		}
	}
	if frac := float64(zeros) / 2000; math.Abs(frac-0.25) > 0.04 {
		t.Fatalf("dropped fraction %g, want 0.25", frac)
	}
	dy := tensor.New(50, 40)
	dy.Fill(1)
	dx := d.Backward(dy)
	for i := range dx.Data {
		if (dx.Data[i] == 0) != (y.Data[i] == 0) {
			t.Fatalf("backward mask differs from forward at %d", i)
		}
	}
	// Same seed, same masks.
	y2 := NewDropout("drop", 0.25, 11).Forward(x, true)
	if err := tensor.AllClose(y2.Data, y.Data, 0, 0); err != nil {
		t.Fatalf("seeded dropout not reproducible: %v", err)
	}
}

func TestInitParams(t *testing.T) {
	c := NewConv2D("c", 3, 3, 16, 32, ConvOptions{})
	c.Bias.Value.Fill(5)
	InitParams(c, tensor.NewRNG(1))
	limit := math.Sqrt(6.0 / (9*16 + 9*32))
	if m := tensor.MaxAbs(c.Kernel.Value.Data); m > limit || m < 0.9*limit {
		t.Fatalf("glorot kernel max %g, limit %g", m, limit)
	}
	if tensor.MaxAbs(c.Bias.Value.Data) != 0 {
		t.Fatal("bias not zeroed")
	}
}
