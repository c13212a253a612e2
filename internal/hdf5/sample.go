package hdf5

import (
	"fmt"
	"math"
)

// SampleExpectation describes a file written by SampleKerasFile in a
// reader-independent way: attributes as string lists, datasets as shape,
// a few values and their float64 sum. testdata/check_h5py.py checks it with h5py.
type SampleExpectation struct {
	Attrs    map[string][]string      `json:"attrs"`    // "/group@name" → values (scalar: one value)
	Scalars  []string                 `json:"scalars"`  // attribute keys that are scalars
	Members  map[string][]string      `json:"members"`  // group path → sorted member names
	Datasets map[string]SampleDataset `json:"datasets"` // dataset path → expectation
}

// SampleDataset is the expectation for one float32 dataset.
type SampleDataset struct {
	Shape []int     `json:"shape"`
	First []float32 `json:"first"` // up to 5 leading values, row-major
	Sum   float64   `json:"sum"`
}

// SampleKerasFile builds a small Keras-legacy-layout weights file (two conv
// layers, a pooling layer without weights, a dense layer; a group with more
// members than one symbol table node holds) and its expectation.
func SampleKerasFile() (*Writer, SampleExpectation) {
	w := NewWriter()
	exp := SampleExpectation{Attrs: map[string][]string{}, Members: map[string][]string{}, Datasets: map[string]SampleDataset{}}
	root := w.Root()
	layers := []struct {
		name   string
		shapes [][]int
	}{
		{"block1_conv1", [][]int{{3, 3, 3, 4}, {4}}},
		{"block1_conv2", [][]int{{3, 3, 4, 4}, {4}}},
		{"block1_pool", nil},
		{"fc1", [][]int{{16, 5}, {5}}},
	}
	var names []string
	for li, l := range layers {
		names = append(names, l.name)
		g := root.Group(l.name)
		var wn []string
		for wi, shape := range l.shapes {
			suffix := []string{"W", "b"}[wi]
			name := fmt.Sprintf("%s_%s_1:0", l.name, suffix)
			wn = append(wn, name)
			n := 1
			for _, s := range shape {
				n *= s
			}
			data := make([]float32, n)
			var sum float64
			for i := range data {
				data[i] = float32(math.Sin(float64(li*1000+wi*100+i))) * 0.5
				sum += float64(data[i])
			}
			g.AddFloat32(name, shape, data)
			exp.Datasets["/"+l.name+"/"+name] = SampleDataset{Shape: shape, First: data[:min(5, n)], Sum: sum}
		}
		g.SetStringsAttr("weight_names", wn)
		if wn == nil {
			wn = []string{}
		}
		exp.Attrs["/"+l.name+"@weight_names"] = wn
		exp.Members["/"+l.name] = wn
	}
	root.SetStringsAttr("layer_names", names)
	root.SetStringAttr("backend", "tensorflow")
	root.SetStringAttr("keras_version", "2.1.6")
	exp.Attrs["/@layer_names"] = names
	exp.Attrs["/@backend"] = []string{"tensorflow"}
	exp.Attrs["/@keras_version"] = []string{"2.1.6"}
	exp.Scalars = []string{"/@backend", "/@keras_version"}
	// A group with 300 members needs 38 symbol table nodes (8 entries each)
	// and so a two-level B-tree (32 children per node).
	many := root.Group("many")
	var mn []string
	const nMany = 300
	for i := 0; i < nMany; i++ {
		k := (i * 7) % nMany // insertion order differs from name order
		name := fmt.Sprintf("item%03d", k)
		many.AddFloat32(name, []int{1}, []float32{float32(k)})
		exp.Datasets["/many/"+name] = SampleDataset{Shape: []int{1}, First: []float32{float32(k)}, Sum: float64(k)}
	}
	for i := 0; i < nMany; i++ {
		mn = append(mn, fmt.Sprintf("item%03d", i))
	}
	exp.Members["/many"] = mn
	exp.Members["/"] = []string{"block1_conv1", "block1_conv2", "block1_pool", "fc1", "many"}
	return w, exp
}
