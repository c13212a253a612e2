package nn_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// npyArray is a decoded .npy file: float32 ('<f4') or int64 ('<i8') data, C order.
type npyArray struct {
	Shape []int
	F32   []float32 // set for '<f4'
	I64   []int64   // set for '<i8'
}

// readNpy decodes a NumPy .npy (format 1.0/2.0) holding '<f4' or '<i8' in
// C order. It returns an error, never panics, on malformed input.
func readNpy(b []byte) (*npyArray, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("npy: bad magic")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, fmt.Errorf("npy: truncated header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf("npy: unsupported version %d", b[6])
	}
	if hlen > len(b)-start {
		return nil, fmt.Errorf("npy: header length %d beyond file", hlen)
	}
	hdr := string(b[start : start+hlen])
	data := b[start+hlen:]
	field := func(key string) (string, error) {
		i := strings.Index(hdr, "'"+key+"':")
		if i < 0 {
			return "", fmt.Errorf("npy: header lacks %q", key)
		}
		return strings.TrimSpace(hdr[i+len(key)+3:]), nil
	}
	descr, err := field("descr")
	if err != nil {
		return nil, err
	}
	fo, err := field("fortran_order")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(fo, "False") {
		return nil, fmt.Errorf("npy: fortran_order arrays are not supported")
	}
	sh, err := field("shape")
	if err != nil {
		return nil, err
	}
	end := strings.Index(sh, ")")
	if !strings.HasPrefix(sh, "(") || end < 0 {
		return nil, fmt.Errorf("npy: bad shape %q", sh)
	}
	a := &npyArray{Shape: []int{}}
	count := 1
	for _, p := range strings.Split(sh[1:end], ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		d, err := strconv.Atoi(p)
		if err != nil || d < 0 || d > 1<<31 {
			return nil, fmt.Errorf("npy: bad axis %q", p)
		}
		a.Shape = append(a.Shape, d)
		if d != 0 && count > math.MaxInt32/d {
			return nil, fmt.Errorf("npy: shape %v too large", a.Shape)
		}
		count *= d
	}
	switch {
	case strings.HasPrefix(descr, "'<f4'"):
		if len(data) != 4*count {
			return nil, fmt.Errorf("npy: %d data bytes for %d float32s", len(data), count)
		}
		a.F32 = make([]float32, count)
		for i := range a.F32 {
			a.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case strings.HasPrefix(descr, "'<i8'"):
		if len(data) != 8*count {
			return nil, fmt.Errorf("npy: %d data bytes for %d int64s", len(data), count)
		}
		a.I64 = make([]int64, count)
		for i := range a.I64 {
			a.I64[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
		}
	default:
		return nil, fmt.Errorf("npy: unsupported dtype %s", descr)
	}
	return a, nil
}

// npyBytes encodes a float32 array as .npy 1.0 (for the reader's tests).
func npyBytes(shape []int, data []float32) []byte {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	st := "(" + strings.Join(parts, ", ")
	if len(shape) == 1 {
		st += ","
	}
	st += ")"
	hdr := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", st)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	b = append(b, hdr...)
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestReadNpy(t *testing.T) {
	b := npyBytes([]int{2, 3}, []float32{1, 2, 3, 4, 5, -6.5})
	a, err := readNpy(b)
	if err != nil || len(a.Shape) != 2 || a.Shape[0] != 2 || a.Shape[1] != 3 || a.F32[5] != -6.5 {
		t.Fatalf("round trip: %v %+v", err, a)
	}
	s, err := readNpy(npyBytes([]int{}, []float32{7}))
	if err != nil || len(s.Shape) != 0 || s.F32[0] != 7 {
		t.Fatalf("scalar: %v %+v", err, s)
	}
	for cut := 0; cut < len(b); cut++ {
		if _, err := readNpy(b[:cut]); err == nil {
			t.Fatalf("truncated file (%d bytes) accepted", cut)
		}
	}
}

func FuzzReadNpy(f *testing.F) {
	f.Add(npyBytes([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	f.Add(npyBytes([]int{}, []float32{1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := readNpy(b)
		if err == nil && len(a.F32)+len(a.I64) == 0 && len(a.Shape) == 0 {
			t.Fatalf("scalar without data accepted")
		}
	})
}
