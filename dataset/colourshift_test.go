package dataset

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

type colourShiftCase struct {
	Kind   string  `json:"kind"`
	Src    string  `json:"src"`
	Hj     int     `json:"h"`
	Wj     int     `json:"w"`
	Cj     int     `json:"c"`
	Value  float64 `json:"value"`
	File   string  `json:"file"`
	Tx, Ty float64
	Fill   string
	Cval   float32
	Shift  float64
	Bright float64
	Fliph  bool
	Flipv  bool
}

func readFloat32s(t *testing.T, parts ...string) []float32 {
	t.Helper()
	raw := readTestdata(t, parts...)
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
	}
	return out
}

// TestColourShiftsMatchKerasPIL compares channelShift, brightnessShift and
// the whole transform order (affine, channel shift, flips, brightness)
// with outputs made by PIL's ImageEnhance.Brightness, NumPy and scipy
// (testdata/gen_colourshift.py): exact equality, including fractional
// inputs, values outside 0..255 (Keras's rescaled path), a flat image and
// grayscale.
func TestColourShiftsMatchKerasPIL(t *testing.T) {
	var cases []colourShiftCase
	if err := json.Unmarshal(readTestdata(t, "colourshift.json"), &cases); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, c := range cases {
		counts[c.Kind]++
		want := readFloat32s(t, "colourshift", c.File)
		src := readFloat32s(t, "colourshift", c.Src)
		got := make([]float32, len(src))
		switch c.Kind {
		case "shift":
			copy(got, src)
			channelShift(got, c.Value)
		case "brightness":
			copy(got, src)
			brightnessShift(got, c.Value)
		case "full":
			pix := make([]uint8, len(src))
			for i, v := range src {
				pix[i] = uint8(v)
			}
			fill, err := parseFillMode(c.Fill)
			if err != nil {
				t.Fatal(err)
			}
			tr := Transform{Tx: c.Tx, Ty: c.Ty, Zx: 1, Zy: 1, FlipHorizontal: c.Fliph, FlipVertical: c.Flipv,
				ChannelShiftIntensity: c.Shift, Brightness: c.Bright}
			r := &resolved{height: c.Hj, width: c.Wj, channels: c.Cj, fill: fill,
				Options: Options{Augment: &Augment{Cval: c.Cval}}}
			finishImage(got, pix, r, &tr)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, reference %d", c.File, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s (%s %v): value %d = %v, Keras/PIL %v (input %v)", c.File, c.Kind, c.Value, i, got[i], want[i], src[i%len(src)])
				break
			}
		}
	}
	if counts["shift"] < 20 || counts["brightness"] < 30 || counts["full"] < 5 {
		t.Fatalf("too few reference cases: %v", counts)
	}
}

// TestSampleDrawsColourShifts checks the ranges and Keras's draw order:
// the two new draws come after the flip coins, so adding them leaves the
// earlier parameters of a sample unchanged.
func TestSampleDrawsColourShifts(t *testing.T) {
	base := Augment{RotationRange: 20, ZoomRange: 0.1, HorizontalFlip: true}
	more := base
	more.ChannelShiftRange = 30
	more.BrightnessRange = [2]float64{0.5, 1.5}
	for i := 0; i < 2000; i++ {
		a := base.Sample(rand.New(rand.NewPCG(7, uint64(i))), 20, 30)
		b := more.Sample(rand.New(rand.NewPCG(7, uint64(i))), 20, 30)
		if a.Theta != b.Theta || a.Zx != b.Zx || a.Zy != b.Zy || a.FlipHorizontal != b.FlipHorizontal {
			t.Fatalf("draw %d: earlier parameters changed: %+v vs %+v", i, a, b)
		}
		if a.ChannelShiftIntensity != 0 || a.Brightness != 0 {
			t.Fatalf("draw %d: zero ranges drew %+v", i, a)
		}
		if s := b.ChannelShiftIntensity; s < -30 || s >= 30 || s == 0 {
			t.Fatalf("draw %d: channel shift %v outside [-30, 30)", i, s)
		}
		if br := b.Brightness; br < 0.5 || br >= 1.5 {
			t.Fatalf("draw %d: brightness %v outside [0.5, 1.5)", i, br)
		}
	}
	for _, bad := range []Augment{{BrightnessRange: [2]float64{1.5, 0.5}}, {BrightnessRange: [2]float64{-1, 1}},
		{ChannelShiftRange: -3}, {ChannelShiftRange: math.NaN()}} {
		if _, err := resolveOptions(Options{Augment: &bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestMatrixIsExported checks that Transform.Matrix returns a plain array
// a caller can use: rotating (1, 0) about the centre by 90° for a 1×1
// image (centre offset 0) gives (0, 1).
func TestMatrixIsExported(t *testing.T) {
	var m [3][3]float64
	m, ok := Transform{Theta: 90, Zx: 1, Zy: 1}.Matrix(1, 1)
	if !ok {
		t.Fatal("rotation reported as identity")
	}
	x, y := m[0][0]*1+m[0][1]*0+m[0][2], m[1][0]*1+m[1][1]*0+m[1][2]
	if math.Abs(x) > 1e-12 || math.Abs(y-1) > 1e-12 {
		t.Errorf("R(90°)·(1,0) = (%v, %v), want (0, 1)", x, y)
	}
}
