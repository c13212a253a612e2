package tensor

import (
	"math"
	"math/rand/v2"
)

// RNG is the seeded random source used by the initialisers: the same seed
// always gives the same weights, on every machine.
type RNG = rand.Rand

// NewRNG returns a deterministic generator for seed.
func NewRNG(seed uint64) *RNG { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// Fans returns Keras's (fan_in, fan_out) for a weight shape: for a Dense
// kernel (in, out) they are in and out; for a conv kernel (kh, kw, cin, cout)
// they are kh·kw·cin and kh·kw·cout.
func Fans(shape Shape) (fanIn, fanOut int) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return shape[0], shape[0]
	case 2:
		return shape[0], shape[1]
	default:
		receptive := 1
		for _, d := range shape[:len(shape)-2] {
			receptive *= d
		}
		return shape[len(shape)-2] * receptive, shape[len(shape)-1] * receptive
	}
}

// GlorotUniform fills t as Keras's glorot_uniform does: U(-l, l) with
// l = sqrt(6 / (fan_in + fan_out)).
func GlorotUniform(t *Tensor, rng *RNG) {
	in, out := Fans(t.Shape)
	limit := math.Sqrt(6 / float64(in+out))
	for i := range t.Data {
		t.Data[i] = float32((rng.Float64()*2 - 1) * limit)
	}
}

// HeNormal fills t as Keras's he_normal does: a normal distribution with
// mean 0 and stddev sqrt(2 / fan_in), truncated at two standard deviations
// (values beyond are redrawn), like Keras's TruncatedNormal.
func HeNormal(t *Tensor, rng *RNG) {
	in, _ := Fans(t.Shape)
	// Keras divides by .87962566103423978, the stddev of a unit normal truncated to [-2, 2].
	std := math.Sqrt(2/float64(in)) / 0.87962566103423978
	for i := range t.Data {
		for {
			v := rng.NormFloat64()
			if v >= -2 && v <= 2 {
				t.Data[i] = float32(v * std)
				break
			}
		}
	}
}

// Uniform fills t with U(lo, hi).
func Uniform(t *Tensor, lo, hi float32, rng *RNG) {
	for i := range t.Data {
		t.Data[i] = lo + (hi-lo)*rng.Float32()
	}
}

// Normal fills t with N(mean, std²).
func Normal(t *Tensor, mean, std float32, rng *RNG) {
	for i := range t.Data {
		t.Data[i] = mean + std*float32(rng.NormFloat64())
	}
}
