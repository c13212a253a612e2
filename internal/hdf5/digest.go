package hdf5

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
)

// KerasDigest reads every weight of a Keras legacy weights file the way
// Keras's loader walks it (attribute layer_names of / or /model_weights,
// each layer group's weight_names, each weight dataset read whole as
// float32) and returns a SHA-256 over, per weight in that order, the line
// "layer/weight [d0 d1 ...]\n" followed by its values as little-endian
// float32 (every NaN as 0x7fc00000), and the number of weights. The
// hostile-file tests compare it with the digest testdata/gen_mutations.py
// computes from h5py's reading of the same file.
func KerasDigest(f *File) (string, int, error) {
	root := f.Root()
	names, err := keraStrings(root, "layer_names")
	if errors.Is(err, ErrNotFound) {
		if root, err = root.Group("model_weights"); err != nil {
			return "", 0, err
		}
		names, err = keraStrings(root, "layer_names")
	}
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n := 0
	for _, layer := range names {
		g, err := root.Group(layer)
		if err != nil {
			return "", 0, err
		}
		wn, err := keraStrings(g, "weight_names")
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return "", 0, err
		}
		for _, w := range wn {
			d, err := g.Dataset(w)
			if err != nil {
				return "", 0, err
			}
			v, err := d.ReadFloat32()
			if err != nil {
				return "", 0, err
			}
			fmt.Fprintf(h, "%s/%s %v\n", layer, w, d.Shape())
			buf := make([]byte, 4*len(v))
			for i, x := range v {
				bits := math.Float32bits(x)
				if x != x {
					bits = 0x7fc00000
				}
				binary.LittleEndian.PutUint32(buf[4*i:], bits)
			}
			h.Write(buf)
			n++
		}
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// keraStrings reads a string-list attribute; an empty numeric attribute
// (Keras 1's empty weight_names) is an empty list.
func keraStrings(g *Group, name string) ([]string, error) {
	a, err := g.Attr(name)
	if err != nil {
		return nil, err
	}
	s, err := a.Strings()
	if err != nil && a.dt.isNumeric() && a.n == 0 {
		return nil, nil
	}
	return s, err
}
