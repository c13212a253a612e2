package nn_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/gotransfer/gotransfer/tensor"
)

// TestONNXConformance runs ONNX's own operator test vectors (see the README
// in the corpus directory) through nn and optim. The directory is
// $ONNX_CONFORMANCE_DIR, else ../shared/conformance/onnx relative to the
// module root (found by walking up to go.mod). Images come as NCHW and are
// transposed to NHWC for the engine and back for the comparison.

type onnxIO struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Dtype string `json:"dtype"`
	File  string `json:"file"`
	Param string `json:"param"`
}

type onnxCase struct {
	Op           string                     `json:"op"`
	Family       string                     `json:"family"`
	Opset        int                        `json:"opset"`
	Attrs        map[string]json.RawMessage `json:"attrs"`
	DefaultAttrs map[string]json.RawMessage `json:"default_attrs"`
	Inputs       []onnxIO                   `json:"inputs"`
	Outputs      []onnxIO                   `json:"outputs"`
	Tolerance    struct{ Rtol, Atol float64 }
	Variadic     struct {
		NumTensors int `json:"num_tensors"`
	} `json:"variadic"`

	dir string
	in  []*npyArray
}

var errUnsupported = errors.New("unsupported")

func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUnsupported, fmt.Sprintf(format, a...))
}

// attr decodes attribute name from attrs, then default_attrs; it reports whether it was present.
func (c *onnxCase) attr(name string, v any) bool {
	raw, ok := c.Attrs[name]
	if !ok {
		raw, ok = c.DefaultAttrs[name]
	}
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		panic(fmt.Sprintf("attribute %s: %v", name, err))
	}
	return true
}

func (c *onnxCase) attrInt(name string, def int) int {
	v := def
	c.attr(name, &v)
	return v
}

func (c *onnxCase) attrFloat(name string, def float64) float64 {
	v := def
	c.attr(name, &v)
	return v
}

func (c *onnxCase) attrInts(name string, def []int) []int {
	v := def
	c.attr(name, &v)
	return v
}

func (c *onnxCase) attrString(name, def string) string {
	v := def
	c.attr(name, &v)
	return v
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func conformanceDir(t *testing.T) string {
	if d := os.Getenv("ONNX_CONFORMANCE_DIR"); d != "" {
		return d
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(root, "..", "shared", "conformance", "onnx")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("no ONNX corpus at %s (set ONNX_CONFORMANCE_DIR): %v", d, err)
	}
	return d
}

func TestONNXConformance(t *testing.T) {
	dir := conformanceDir(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ONNX corpus %s: %v", dir, err)
	}
	var passed, failed int
	var unsup []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		c, err := loadCase(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			failed++
			continue
		}
		run := runners[c.Op]
		if run == nil {
			unsup = append(unsup, fmt.Sprintf("%s (op %s)", name, c.Op))
			continue
		}
		outs, err := run(c)
		if errors.Is(err, errUnsupported) {
			unsup = append(unsup, fmt.Sprintf("%s (%v)", name, err))
			continue
		}
		if err == nil {
			err = compareOutputs(c, outs)
		}
		if err != nil {
			t.Errorf("%s (%s): %v", name, c.Op, err)
			failed++
			continue
		}
		passed++
	}
	sort.Strings(unsup)
	msg := fmt.Sprintf("onnx conformance: %d passed, %d failed, %d unsupported", passed, failed, len(unsup))
	fmt.Println(msg)
	t.Log(msg)
	for _, u := range unsup {
		fmt.Println("  unsupported:", u)
	}
	if passed == 0 {
		t.Fatalf("no case passed in %s", dir)
	}
}

func loadCase(dir string) (*onnxCase, error) {
	b, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		return nil, err
	}
	c := &onnxCase{dir: dir}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("case.json: %w", err)
	}
	for _, in := range c.Inputs {
		a, err := loadNpy(filepath.Join(dir, in.File))
		if err != nil {
			return nil, err
		}
		c.in = append(c.in, a)
	}
	return c, nil
}

func loadNpy(path string) (*npyArray, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a, err := readNpy(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func compareOutputs(c *onnxCase, outs []*npyArray) error {
	if len(outs) < len(c.Outputs) {
		return fmt.Errorf("produced %d outputs, case has %d", len(outs), len(c.Outputs))
	}
	for i, o := range c.Outputs {
		want, err := loadNpy(filepath.Join(c.dir, o.File))
		if err != nil {
			return err
		}
		got := outs[i]
		if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
			return fmt.Errorf("output %d (%s): shape %v, want %v", i, o.Name, got.Shape, want.Shape)
		}
		if want.I64 != nil {
			if got.I64 == nil {
				return fmt.Errorf("output %d (%s): want int64 data", i, o.Name)
			}
			for k := range want.I64 {
				if got.I64[k] != want.I64[k] {
					return fmt.Errorf("output %d (%s) element %d: got %d, want %d", i, o.Name, k, got.I64[k], want.I64[k])
				}
			}
			continue
		}
		if got.F32 == nil {
			return fmt.Errorf("output %d (%s): want float32 data", i, o.Name)
		}
		if err := tensor.AllClose(got.F32, want.F32, c.Tolerance.Rtol, c.Tolerance.Atol); err != nil {
			return fmt.Errorf("output %d (%s): %v", i, o.Name, err)
		}
	}
	return nil
}

func f32(shape []int, data []float32) *npyArray { return &npyArray{Shape: shape, F32: data} }

// nchwToNHWC permutes (N,C,H,W) data to (N,H,W,C).
func nchwToNHWC(a *npyArray) (*tensor.Tensor, error) {
	if len(a.Shape) != 4 || a.F32 == nil {
		return nil, unsupported("input %v is not a float32 4-D image", a.Shape)
	}
	N, C, H, W := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	t := tensor.New(N, H, W, C)
	for n := 0; n < N; n++ {
		for c := 0; c < C; c++ {
			for h := 0; h < H; h++ {
				for w := 0; w < W; w++ {
					t.Data[((n*H+h)*W+w)*C+c] = a.F32[((n*C+c)*H+h)*W+w]
				}
			}
		}
	}
	return t, nil
}

// nhwcToNCHW permutes an NHWC tensor back to an NCHW array.
func nhwcToNCHW(t *tensor.Tensor) *npyArray {
	N, H, W, C := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	out := make([]float32, len(t.Data))
	for n := 0; n < N; n++ {
		for h := 0; h < H; h++ {
			for w := 0; w < W; w++ {
				for c := 0; c < C; c++ {
					out[((n*C+c)*H+h)*W+w] = t.Data[((n*H+h)*W+w)*C+c]
				}
			}
		}
	}
	return f32([]int{N, C, H, W}, out)
}

// window reads the Conv/pool geometry attributes into our padding mode + pads.
func (c *onnxCase) window(kernel []int) (padding string, pads [4]int, strides, dil []int, err error) {
	strides = c.attrInts("strides", []int{1, 1})
	dil = c.attrInts("dilations", []int{1, 1})
	if len(kernel) != 2 || len(strides) != 2 || len(dil) != 2 {
		return "", pads, nil, nil, unsupported("only 2-D windows")
	}
	switch ap := c.attrString("auto_pad", "NOTSET"); ap {
	case "NOTSET", "":
		p := c.attrInts("pads", []int{0, 0, 0, 0})
		if len(p) != 4 {
			return "", pads, nil, nil, fmt.Errorf("pads %v", p)
		}
		padding, pads = "explicit", [4]int{p[0], p[1], p[2], p[3]}
	case "VALID":
		padding = "valid"
	case "SAME_UPPER":
		padding = "same_upper"
	case "SAME_LOWER":
		padding = "same_lower"
	default:
		return "", pads, nil, nil, unsupported("auto_pad %q", ap)
	}
	return padding, pads, strides, dil, nil
}
