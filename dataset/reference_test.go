package dataset

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// These tests compare against testdata/manifest.json, written by
// testdata/gen_reference.py with Debian's Pillow 9.4 and SciPy 1.10.

type manifest struct {
	Colour []struct {
		Name, File, Format string
		PilMode            string `json:"pil_mode"`
		Width, Height      int
		Lossy              bool
		HasL               bool `json:"has_l"`
	}
	Exif []struct {
		File          string
		Orientation   int
		Width, Height int
	}
	Resize []struct {
		Src, Mode, Method, File string
		Width, Height           int
	}
	Affine []struct {
		Src, File, Fill      string
		H, W                 int
		Cval                 float32
		Theta, Tx, Ty, Shear float64
		Zx, Zy               float64
		Fliph, Flipv         bool
	}
}

func loadManifest(t *testing.T) *manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func readTestdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// diffStats returns the largest absolute difference and the mean one.
func diffStats(got, want []uint8) (maxd int, mean float64) {
	sum := 0
	for i := range got {
		d := int(got[i]) - int(want[i])
		if d < 0 {
			d = -d
		}
		sum += d
		maxd = max(maxd, d)
	}
	return maxd, float64(sum) / float64(len(got))
}

// TestColourConversionMatchesPIL decodes every generated format / colour
// model and compares with PIL's convert("RGB") and convert("L"). All but
// JPEG must match exactly; JPEGs within the IDCT's rounding.
func TestColourConversionMatchesPIL(t *testing.T) {
	m := loadManifest(t)
	if len(m.Colour) < 20 {
		t.Fatalf("manifest has only %d colour cases", len(m.Colour))
	}
	for _, c := range m.Colour {
		t.Run(c.Name, func(t *testing.T) {
			b := readTestdata(t, "colour", c.File)
			for _, ch := range []int{3, 1} {
				ext := map[int]string{3: ".rgb", 1: ".l"}[ch]
				if ch == 1 && !c.HasL {
					continue
				}
				want := readTestdata(t, "colour", c.Name+ext)
				p, err := decodeToPixels(b, ch, false)
				if err != nil {
					t.Fatalf("%s: %v", c.File, err)
				}
				if p.w != c.Width || p.h != c.Height || len(p.pix) != len(want) {
					t.Fatalf("%s: got %dx%dx%d, PIL %dx%d (%d bytes)", c.File, p.w, p.h, p.c, c.Width, c.Height, len(want))
				}
				maxd, mean := diffStats(p.pix, want)
				if maxd > 0 {
					t.Logf("%s channels=%d: max diff %d, mean %.3f from PIL", c.File, ch, maxd, mean)
				}
				// JPEG: Go's IDCT differs from libjpeg-turbo's by ±1–2 levels;
				// upsampling and colour maths are libjpeg's (ycbcr.go).
				// Everything else, lossy WebP included, must be exact.
				maxAllowed, meanAllowed := 0, 0.0
				if c.Format == "JPEG" {
					maxAllowed, meanAllowed = 3, 0.1
				}
				if maxd > maxAllowed || mean > meanAllowed {
					t.Errorf("%s channels=%d (PIL mode %s): max diff %d (allowed %d), mean %.3f (allowed %.1f)",
						c.File, ch, c.PilMode, maxd, maxAllowed, mean, meanAllowed)
				}
			}
		})
	}
}

// TestExifOrientationMatchesPIL checks Options.ExifOrientation against
// PIL's ImageOps.exif_transpose for all eight orientations, and that it is
// ignored by default (Keras behaviour).
func TestExifOrientationMatchesPIL(t *testing.T) {
	m := loadManifest(t)
	if len(m.Exif) != 8 {
		t.Fatalf("want 8 EXIF cases, got %d", len(m.Exif))
	}
	for _, c := range m.Exif {
		b := readTestdata(t, "colour", c.File)
		if got := exifOrientation(b); got != c.Orientation {
			t.Errorf("%s: orientation %d, want %d", c.File, got, c.Orientation)
		}
		p, err := decodeToPixels(b, 3, true)
		if err != nil {
			t.Fatal(err)
		}
		want := readTestdata(t, "colour", c.File[:len(c.File)-4]+".rgb")
		if p.w != c.Width || p.h != c.Height {
			t.Fatalf("%s: %dx%d, want %dx%d", c.File, p.w, p.h, c.Width, c.Height)
		}
		if maxd, _ := diffStats(p.pix, want); maxd > 6 {
			t.Errorf("%s: max diff %d vs PIL exif_transpose", c.File, maxd)
		}
		plain, _ := decodeToPixels(b, 3, false)
		if plain.w != 40 || plain.h != 24 {
			t.Errorf("%s: without the option the stored 40x24 must be kept, got %dx%d", c.File, plain.w, plain.h)
		}
	}
}

// TestResizeMatchesPIL checks nearest, bilinear and bicubic bit for bit
// against PIL's Image.resize, in RGB and L, up and down.
func TestResizeMatchesPIL(t *testing.T) {
	m := loadManifest(t)
	if len(m.Resize) < 50 {
		t.Fatalf("only %d resize cases", len(m.Resize))
	}
	for _, c := range m.Resize {
		f, err := os.Open(filepath.Join("testdata", "resize", c.Src))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var p pixels
		if c.Mode == "L" {
			p = toGray(img)
		} else {
			p = toRGB(img)
		}
		got := resizeImage(p, c.Width, c.Height, c.Method)
		want := readTestdata(t, "resize", c.File)
		if len(got.pix) != len(want) {
			t.Fatalf("%s: %d bytes, want %d", c.File, len(got.pix), len(want))
		}
		if maxd, _ := diffStats(got.pix, want); maxd != 0 {
			t.Errorf("%s: max diff %d from PIL", c.File, maxd)
		}
	}
}

// TestAffineMatchesKerasScipy compares warp with Keras's
// apply_affine_transform (scipy.ndimage.affine_transform, order 1) plus
// flips, for rotations, shifts, shear, zooms, combinations and all four
// fill modes, on a square and a non-square image.
func TestAffineMatchesKerasScipy(t *testing.T) {
	m := loadManifest(t)
	if len(m.Affine) < 100 {
		t.Fatalf("only %d affine cases", len(m.Affine))
	}
	worst := 0.0
	for _, c := range m.Affine {
		src := readTestdata(t, "affine", c.Src)
		raw := readTestdata(t, "affine", c.File)
		want := make([]float32, len(raw)/4)
		for i := range want {
			want[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		fill, err := parseFillMode(c.Fill)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(want))
		tr := Transform{Theta: c.Theta, Tx: c.Tx, Ty: c.Ty, Shear: c.Shear, Zx: c.Zx, Zy: c.Zy, FlipHorizontal: c.Fliph, FlipVertical: c.Flipv}
		warp(got, src, c.H, c.W, 3, tr, fill, c.Cval)
		for i := range got {
			d := math.Abs(float64(got[i] - want[i]))
			worst = max(worst, d)
			if d > 0.01 {
				t.Errorf("%s (%+v, fill %s): pixel %d (row %d col %d ch %d) = %v, scipy %v",
					c.File, tr, c.Fill, i, i/3/c.W, i/3%c.W, i%3, got[i], want[i])
				break
			}
		}
	}
	t.Logf("largest difference from scipy over %d cases: %.2g", len(m.Affine), worst)
}
