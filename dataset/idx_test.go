package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func idxBytes(dims []int, data []uint8) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestLoadIDXRawAndGzip(t *testing.T) {
	dir := t.TempDir()
	// 3 images of 2×3: image i has pixel value 10·i + k.
	var pix []uint8
	for i := 0; i < 3; i++ {
		for k := 0; k < 6; k++ {
			pix = append(pix, uint8(10*i+k))
		}
	}
	imgs, labs := idxBytes([]int{3, 2, 3}, pix), idxBytes([]int{3}, []uint8{7, 1, 7})
	write(t, filepath.Join(dir, "i.idx"), imgs)
	write(t, filepath.Join(dir, "l.idx"), labs)
	write(t, filepath.Join(dir, "i.gz"), gz(imgs))
	write(t, filepath.Join(dir, "l.gz"), gz(labs))
	for _, pair := range [][2]string{{"i.idx", "l.idx"}, {"i.gz", "l.gz"}, {"i.gz", "l.idx"}} {
		s, err := LoadIDX(filepath.Join(dir, pair[0]), filepath.Join(dir, pair[1]))
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != 3 || s.Rows != 2 || s.Cols != 3 || s.Labels[0] != 7 || s.Labels[1] != 1 || s.Images[6] != 10 {
			t.Fatalf("%v: %+v", pair, s)
		}
	}
	s, _ := LoadIDX(filepath.Join(dir, "i.idx"), filepath.Join(dir, "l.idx"))
	f := s.Filter(func(l int) bool { return l == 7 })
	if f.Len() != 2 || f.Images[6] != 20 {
		t.Fatalf("filter: %+v", f)
	}
	// Padding to 32×32 and 3 channels: (32−2)/2 = 15 rows, (32−3)/2 = 14
	// columns before the image.
	x, labels := s.ToTensor(true, 3)
	if x.Dim(0) != 3 || x.Dim(1) != 32 || x.Dim(2) != 32 || x.Dim(3) != 3 || len(labels) != 3 {
		t.Fatalf("shape %v", x.Shape)
	}
	at := func(n, r, c, ch int) float32 { return x.Data[((n*32+r)*32+c)*3+ch] }
	if at(1, 15, 14, 0) != 10 || at(1, 15, 14, 2) != 10 || at(1, 16, 16, 1) != 15 || at(1, 14, 14, 0) != 0 || at(1, 15, 13, 0) != 0 {
		t.Fatal("padding or channel copy misplaced")
	}
	bs := s.Batches(IDXBatchOptions{BatchSize: 2, NumClasses: 10, Rescale: 0.5}, 0)
	if len(bs) != 2 || bs[0].X.Dim(0) != 2 || bs[1].X.Dim(0) != 1 || bs[0].Y.Data[7] != 1 || bs[1].X.Data[1] != 10.5 {
		t.Fatalf("batches: %v %v", bs[0].X.Shape, bs[1].X.Data[:2])
	}
}

func TestLoadIDXErrors(t *testing.T) {
	dir := t.TempDir()
	good := idxBytes([]int{2, 2, 2}, make([]uint8, 8))
	cases := map[string][2][]byte{
		"count mismatch": {good, idxBytes([]int{3}, []uint8{1, 2, 3})},
		"short data":     {good[:len(good)-1], idxBytes([]int{2}, []uint8{1, 2})},
		"bad magic":      {append([]byte{1}, good[1:]...), idxBytes([]int{2}, []uint8{1, 2})},
		"float type":     {append([]byte{0, 0, 0x0D}, good[3:]...), idxBytes([]int{2}, []uint8{1, 2})},
		"labels 2-D":     {good, idxBytes([]int{2, 1}, []uint8{1, 2})},
		"corrupt gzip":   {gz(good)[:10], idxBytes([]int{2}, []uint8{1, 2})},
	}
	for name, c := range cases {
		write(t, filepath.Join(dir, "i"), c[0])
		write(t, filepath.Join(dir, "l"), c[1])
		if _, err := LoadIDX(filepath.Join(dir, "i"), filepath.Join(dir, "l")); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), dir) && name != "count mismatch" {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := LoadIDX(filepath.Join(dir, "missing"), filepath.Join(dir, "l")); err == nil {
		t.Error("missing file: no error")
	}
}

// TestGoMNIST reads the real MNIST test set shipped by GoMNIST in the
// module cache: 10000 images of 28×28, labels 0..9, first label 7 (the
// well-known first t10k digit).
func TestGoMNIST(t *testing.T) {
	dir, err := GoMNISTDir()
	if err != nil {
		t.Skip(err)
	}
	s, err := LoadIDX(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 10000 || s.Rows != 28 || s.Cols != 28 || s.Labels[0] != 7 || s.Labels[1] != 2 {
		t.Fatalf("t10k: %d images %dx%d, first labels %v", s.Len(), s.Rows, s.Cols, s.Labels[:2])
	}
	counts := make([]int, 10)
	for _, l := range s.Labels {
		counts[l]++
	}
	if counts[0] != 980 || counts[1] != 1135 {
		t.Fatalf("t10k class counts %v (want 980 zeros, 1135 ones)", counts)
	}
	if _, err := os.Stat(filepath.Join(dir, "train-labels-idx1-ubyte.gz")); err != nil {
		t.Fatal(err)
	}
}
