// Package npy reads and writes NumPy .npy files (format versions 1.0-3.0)
// holding little-endian float32, float64, int32, int64 or uint8 arrays in C
// (row-major) order. It is what cmd/features writes bottleneck features with
// and what the vgg tests read PyTorch reference outputs with.
//
// Layout of a .npy file: the magic "\x93NUMPY", a major and minor version
// byte, a header length (uint16 for v1, uint32 for v2/v3), an ASCII Python
// dict literal like {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces to a multiple of 64 bytes and ended by '\n', then the raw
// array bytes.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Array is a decoded .npy array. Exactly one of F32 or I64 is set: float
// dtypes (f4, f8) decode into F32, integer dtypes (i4, i8, u1) into I64.
type Array struct {
	Shape []int
	Descr string // the file's dtype, e.g. "<f4"
	F32   []float32
	I64   []int64
}

const magic = "\x93NUMPY"

// maxElements caps what a header may claim before any allocation.
const maxElements = 1 << 31

// Decode reads an .npy array from r. size is the number of bytes available
// (the file size), used to refuse headers claiming more data than exists.
func Decode(r io.Reader, size int64) (*Array, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, fmt.Errorf("npy: short file: %v", err)
	}
	if string(pre[:6]) != magic {
		return nil, errors.New("npy: not a .npy file (bad magic)")
	}
	major := pre[6]
	var hlen, pos int64
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, fmt.Errorf("npy: short header: %v", err)
		}
		hlen, pos = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: short header: %v", err)
		}
		hlen, pos = int64(binary.LittleEndian.Uint32(b[:])), 12
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d", major, pre[7])
	}
	if hlen > size-pos || hlen > 1<<20 {
		return nil, fmt.Errorf("npy: header length %d exceeds the file", hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("npy: short header: %v", err)
	}
	descr, fortran, shape, err := parseHeader(string(hdr))
	if err != nil {
		return nil, err
	}
	if fortran {
		return nil, errors.New("npy: fortran_order arrays are not supported")
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d > 0 && n > maxElements/int64(d)) {
			return nil, fmt.Errorf("npy: shape %v too large", shape)
		}
		n *= int64(d)
	}
	var elem int64
	switch descr {
	case "<f4", "<i4":
		elem = 4
	case "<f8", "<i8":
		elem = 8
	case "|u1", "<u1":
		elem = 1
	default:
		return nil, fmt.Errorf("npy: unsupported dtype %q (want <f4, <f8, <i4, <i8 or |u1)", descr)
	}
	if n*elem > size-pos-hlen {
		return nil, fmt.Errorf("npy: shape %v of %s needs %d bytes, file has %d", shape, descr, n*elem, size-pos-hlen)
	}
	raw := make([]byte, n*elem)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("npy: truncated data: %v", err)
	}
	a := &Array{Shape: shape, Descr: descr}
	switch descr {
	case "<f4":
		a.F32 = make([]float32, n)
		for i := range a.F32 {
			a.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case "<f8":
		a.F32 = make([]float32, n)
		for i := range a.F32 {
			a.F32[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case "<i4":
		a.I64 = make([]int64, n)
		for i := range a.I64 {
			a.I64[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	case "<i8":
		a.I64 = make([]int64, n)
		for i := range a.I64 {
			a.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	default:
		a.I64 = make([]int64, n)
		for i := range a.I64 {
			a.I64[i] = int64(raw[i])
		}
	}
	return a, nil
}

// ReadFile decodes the .npy file at path.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, err := Decode(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// parseHeader reads the dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), }.
func parseHeader(h string) (descr string, fortran bool, shape []int, err error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return "", false, nil, fmt.Errorf("npy: header is not a dict: %q", h)
	}
	field := func(key string) (string, bool) {
		i := strings.Index(h, "'"+key+"'")
		if i < 0 {
			return "", false
		}
		rest := strings.TrimLeft(h[i+len(key)+2:], " ")
		rest, ok := strings.CutPrefix(rest, ":")
		return strings.TrimLeft(rest, " "), ok
	}
	d, ok := field("descr")
	if !ok || len(d) < 2 || d[0] != '\'' {
		return "", false, nil, fmt.Errorf("npy: header has no descr: %q", h)
	}
	end := strings.IndexByte(d[1:], '\'')
	if end < 0 {
		return "", false, nil, fmt.Errorf("npy: bad descr in header: %q", h)
	}
	descr = d[1 : 1+end]
	f, ok := field("fortran_order")
	if !ok {
		return "", false, nil, fmt.Errorf("npy: header has no fortran_order: %q", h)
	}
	fortran = strings.HasPrefix(f, "True")
	s, ok := field("shape")
	if !ok || !strings.HasPrefix(s, "(") {
		return "", false, nil, fmt.Errorf("npy: header has no shape: %q", h)
	}
	close := strings.IndexByte(s, ')')
	if close < 0 {
		return "", false, nil, fmt.Errorf("npy: bad shape in header: %q", h)
	}
	shape = []int{}
	for _, p := range strings.Split(s[1:close], ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(p, "L"))
		if err != nil || v < 0 {
			return "", false, nil, fmt.Errorf("npy: bad shape %q", s[:close+1])
		}
		shape = append(shape, v)
	}
	return descr, fortran, shape, nil
}

// header returns the v1.0 preamble and header for dtype descr and shape.
func header(descr string, shape []int) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (")
	for i, d := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		sb.WriteString(",")
	}
	sb.WriteString("), }")
	// pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n'
	body := sb.String()
	total := 10 + len(body) + 1
	pad := (64 - total%64) % 64
	body += strings.Repeat(" ", pad) + "\n"
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(body)))
	b.WriteString(body)
	return b.Bytes()
}

// EncodeFloat32 writes data with the given shape as a '<f4' .npy stream.
func EncodeFloat32(w io.Writer, shape []int, data []float32) error {
	if err := checkSize(shape, len(data)); err != nil {
		return err
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return writeAll(w, header("<f4", shape), raw)
}

// EncodeInt64 writes data with the given shape as an '<i8' .npy stream.
func EncodeInt64(w io.Writer, shape []int, data []int64) error {
	if err := checkSize(shape, len(data)); err != nil {
		return err
	}
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return writeAll(w, header("<i8", shape), raw)
}

func checkSize(shape []int, n int) error {
	size := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: negative axis in shape %v", shape)
		}
		size *= d
	}
	if size != n {
		return fmt.Errorf("npy: shape %v holds %d elements, got %d", shape, size, n)
	}
	return nil
}

func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// WriteFloat32File writes a '<f4' .npy file atomically (temp file in the same
// folder, synced, then renamed over path).
func WriteFloat32File(path string, shape []int, data []float32) error {
	return writeAtomic(path, func(w io.Writer) error { return EncodeFloat32(w, shape, data) })
}

// WriteInt64File writes an '<i8' .npy file atomically.
func WriteInt64File(path string, shape []int, data []int64) error {
	return writeAtomic(path, func(w io.Writer) error { return EncodeInt64(w, shape, data) })
}

func writeAtomic(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := fill(tmp); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	ok = true
	return nil
}
