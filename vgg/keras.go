package vgg

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/gotransfer/gotransfer/internal/hdf5"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

// LoadOptions controls LoadKerasWeights.
type LoadOptions struct {
	// SkipMismatch skips, instead of failing on, file layers absent from
	// the model, model layers absent from the file, and layers whose weight
	// count or shapes differ (Keras's skip_mismatch). Skipped layers keep
	// their current weights.
	SkipMismatch bool
	// IgnoreExtra silently ignores file layers that the model lacks (Keras's
	// load_weights(by_name=True) behaviour), e.g. fc1/fc2/predictions when
	// loading an include_top file into a base; other mismatches still fail.
	IgnoreExtra bool
	// Warnings receives one line per skipped layer when SkipMismatch is set
	// (nil: not reported), and one line per loaded weight that holds NaN or
	// infinite values, naming the layer (nil: those go to os.Stderr, since
	// such weights poison every output; io.Discard silences them).
	Warnings io.Writer
}

// Keras legacy HDF5 weights layout (keras.src.legacy.saving.legacy_h5_format):
//
//	/ (or /model_weights in a full-model save)
//	  attr layer_names = [name, ...]          every layer, in model order
//	                     (split into layer_names0, layer_names1, ... when huge)
//	  attr backend, keras_version             optional
//	  /<layer>                                one group per layer
//	    attr weight_names = [wname, ...]       empty for layers without weights
//	    <wname>                                float dataset, path relative to the
//	                                           layer group; may nest ("block1_conv1/kernel:0")
//
// Weight names seen in the wild: "block1_conv1_W_1:0" (Keras 1 ImageNet
// files), "block1_conv1/kernel:0" (tf.keras 2.x), "block1_conv1/kernel"
// (Keras 3). Names are not interpreted: values are taken in weight_names
// order, which for Conv2D and Dense is kernel then bias. One extension to
// Keras's rules: the group of a nested model (the Keras blog's
// Sequential([conv_base, Flatten(), Dense(...)]) saved whole, where group
// "vgg16" holds all the base's weights as "block1_conv1/kernel:0", ...) is
// split into its inner layers by the second-to-last segment of each weight
// name, so such files load into our flat model.

// fileLayer is one layer group of a weights file that holds weights.
type fileLayer struct {
	name     string
	group    *hdf5.Group
	weights  []string // weight_names, in order
	datasets []*hdf5.Dataset
}

// weightsRoot returns the group holding layer_names: the root, or
// /model_weights for a full-model save.
func weightsRoot(f *hdf5.File) (*hdf5.Group, []string, error) {
	root := f.Root()
	names, err := stringListAttr(root, "layer_names")
	if err == nil {
		return root, names, nil
	}
	if !errors.Is(err, hdf5.ErrNotFound) {
		return nil, nil, fmt.Errorf("attribute /layer_names: %w", err)
	}
	if isG, gerr := root.IsGroup("model_weights"); gerr == nil && isG {
		mw, err := root.Group("model_weights")
		if err != nil {
			return nil, nil, err
		}
		names, err := stringListAttr(mw, "layer_names")
		if err != nil {
			return nil, nil, fmt.Errorf("attribute /model_weights/layer_names: %w", err)
		}
		return mw, names, nil
	}
	return nil, nil, errors.New("no layer_names attribute at / or /model_weights: not a Keras HDF5 weights file")
}

// stringListAttr reads a Keras string-list attribute, following Keras's
// load_attributes_from_hdf5_group: name itself, or name0, name1, ... when it
// was split. An empty non-string attribute (Keras 1 wrote empty
// weight_names as a float64 array) is an empty list. Absent: ErrNotFound.
func stringListAttr(g *hdf5.Group, name string) ([]string, error) {
	read := func(n string) ([]string, error) {
		a, err := g.Attr(n)
		if err != nil {
			return nil, err
		}
		s, err := a.Strings()
		if err != nil {
			if v, ferr := a.Float64s(); ferr == nil && len(v) == 0 {
				return nil, nil
			}
			return nil, fmt.Errorf("attribute %s of %s: %w", n, g.Path(), err)
		}
		return s, nil
	}
	s, err := read(name)
	if err == nil || !errors.Is(err, hdf5.ErrNotFound) {
		return s, err
	}
	var out []string
	for k := 0; ; k++ {
		part, err := read(name + strconv.Itoa(k))
		if errors.Is(err, hdf5.ErrNotFound) {
			if k == 0 {
				return nil, err
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
}

// readFileLayers lists the layers of an open weights file that hold weights,
// with their datasets opened (headers only; no data read).
func readFileLayers(f *hdf5.File) ([]fileLayer, error) {
	root, names, err := weightsRoot(f)
	if err != nil {
		return nil, err
	}
	var out []fileLayer
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			return nil, fmt.Errorf("layer_names lists %q twice", name)
		}
		seen[name] = true
		g, err := root.Group(name)
		if err != nil {
			return nil, fmt.Errorf("layer_names lists %q but its group is unreadable: %w", name, err)
		}
		wn, err := stringListAttr(g, "weight_names")
		if errors.Is(err, hdf5.ErrNotFound) {
			continue // Keras: no weight_names means no weights
		}
		if err != nil {
			return nil, fmt.Errorf("layer %q: %w", name, err)
		}
		if len(wn) == 0 {
			continue
		}
		fl := fileLayer{name: name, group: g, weights: wn}
		for _, w := range wn {
			d, err := g.Dataset(w)
			if err != nil {
				return nil, fmt.Errorf("layer %q: weight %q: %w", name, w, err)
			}
			fl.datasets = append(fl.datasets, d)
		}
		out = append(out, fl)
	}
	return out, nil
}

// LoadKerasWeights loads a Keras legacy HDF5 weights file (an ImageNet
// weights file, a save_weights .h5 or a full-model model.save .h5) into m,
// matching layers by name (Keras's load_weights(by_name=True)) and assigning
// each layer's weights in weight_names order. File layers without weights
// are ignored. Errors, unless opt.SkipMismatch, name the layer: a file layer
// with weights that m lacks, a layer of m with weights that the file lacks,
// a weight count mismatch, a shape mismatch (with both shapes). All checks
// and all reads happen before any weight of m changes: on error m is left
// untouched. Truncated or malformed files are refused.
func LoadKerasWeights(m *nn.Model, path string, opt LoadOptions) error {
	f, err := hdf5.Open(path)
	if err != nil {
		return fmt.Errorf("vgg: loading weights: %w", err)
	}
	defer f.Close()
	if err := loadKeras(m, f, opt); err != nil {
		return fmt.Errorf("vgg: loading %s into %s: %w", path, m.Name(), err)
	}
	return nil
}

// LoadKerasWeightsFrom is LoadKerasWeights reading size bytes from r; name
// is used in errors.
func LoadKerasWeightsFrom(m *nn.Model, r io.ReaderAt, size int64, name string, opt LoadOptions) error {
	f, err := hdf5.OpenReaderAt(r, size, name)
	if err != nil {
		return fmt.Errorf("vgg: loading weights: %w", err)
	}
	defer f.Close()
	if err := loadKeras(m, f, opt); err != nil {
		return fmt.Errorf("vgg: loading %s into %s: %w", name, m.Name(), err)
	}
	return nil
}

// expandNested splits the group of a nested model (Keras's
// Sequential([conv_base, ...]) saved with model.save: one file layer "vgg16"
// whose weight_names are "block1_conv1/kernel:0", ... and whose datasets sit
// at those paths) into one fileLayer per inner layer. Inner layer names are
// the second-to-last path segment of each weight name; known says which
// names are acceptable. It reports false (and returns nothing) unless every
// weight maps to a known inner layer and each inner layer's weights are
// contiguous.
func expandNested(fl fileLayer, known func(string) bool) ([]fileLayer, bool) {
	var out []fileLayer
	done := map[string]bool{}
	for i, w := range fl.weights {
		parts := strings.Split(strings.TrimSuffix(w, ":0"), "/")
		if len(parts) < 2 {
			return nil, false
		}
		sub := parts[len(parts)-2]
		if !known(sub) {
			return nil, false
		}
		if len(out) == 0 || out[len(out)-1].name != sub {
			if done[sub] {
				return nil, false
			}
			done[sub] = true
			out = append(out, fileLayer{name: sub, group: fl.group})
		}
		last := &out[len(out)-1]
		last.weights = append(last.weights, w)
		last.datasets = append(last.datasets, fl.datasets[i])
	}
	return out, len(out) > 0
}

// flattenNested replaces the groups of nested models by their inner layers
// (see expandNested) when the outer name is not known itself.
func flattenNested(layers []fileLayer, known func(string) bool) []fileLayer {
	var out []fileLayer
	for _, fl := range layers {
		if !known(fl.name) {
			if subs, ok := expandNested(fl, known); ok {
				out = append(out, subs...)
				continue
			}
		}
		out = append(out, fl)
	}
	return out
}

func loadKeras(m *nn.Model, f *hdf5.File, opt LoadOptions) error {
	layers, err := readFileLayers(f)
	if err != nil {
		return err
	}
	layers = flattenNested(layers, func(name string) bool { return m.Layer(name) != nil })
	warn := func(format string, a ...any) {
		if opt.Warnings != nil {
			fmt.Fprintf(opt.Warnings, "vgg: skipping "+format+"\n", a...)
		}
	}
	var problems []string
	report := func(format string, a ...any) {
		if opt.SkipMismatch {
			warn(format, a...)
		} else {
			problems = append(problems, fmt.Sprintf(format, a...))
		}
	}
	type assignment struct {
		params   []*nn.Param
		datasets []*hdf5.Dataset
		names    []string
		layer    string
	}
	var plan []assignment
	inFile := map[string]bool{}
	for _, fl := range layers {
		if inFile[fl.name] {
			problems = append(problems, fmt.Sprintf("layer %q: its weights appear twice in the file", fl.name))
			continue
		}
		inFile[fl.name] = true
		l := m.Layer(fl.name)
		if l == nil {
			if opt.IgnoreExtra {
				continue
			}
			report("layer %q: in the file (%d weights) but not in the model", fl.name, len(fl.weights))
			continue
		}
		params := l.Params()
		if len(params) != len(fl.weights) {
			report("layer %q: the model expects %d weights, the file has %d (%s)", fl.name, len(params), len(fl.weights), strings.Join(fl.weights, ", "))
			continue
		}
		ok := true
		for i, p := range params {
			got := fl.datasets[i].Shape()
			if !tensor.Shape(got).Equal(p.Value.Shape) {
				report("layer %q: weight %s expects shape %v, the file's %s has shape %v", fl.name, p.Name, p.Value.Shape, fl.weights[i], tensor.Shape(got))
				ok = false
			}
		}
		if ok {
			plan = append(plan, assignment{params, fl.datasets, fl.weights, fl.name})
		}
	}
	for _, l := range m.Layers() {
		if len(l.Params()) > 0 && !inFile[l.Name()] {
			report("layer %q (%s): has weights in the model but none in the file", l.Name(), l.Type())
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; ") + " (LoadOptions.SkipMismatch skips such layers)")
	}
	// Read everything first so that a truncated file leaves m untouched.
	values := make([][][]float32, len(plan))
	for i, a := range plan {
		for j, d := range a.datasets {
			v, err := d.ReadFloat32()
			if err != nil {
				return fmt.Errorf("layer %q: reading %s: %w", a.layer, a.names[j], err)
			}
			if len(v) != a.params[j].Value.Size() {
				return fmt.Errorf("layer %q: %s has %d values, want %d", a.layer, a.names[j], len(v), a.params[j].Value.Size())
			}
			if nan, inf := countNonFinite(v); nan+inf > 0 {
				w := opt.Warnings
				if w == nil {
					w = os.Stderr
				}
				fmt.Fprintf(w, "vgg: warning: layer %q: weight %s holds %d NaN and %d infinite values (of %d)\n", a.layer, a.names[j], nan, inf, len(v))
			}
			values[i] = append(values[i], v)
		}
	}
	for i, a := range plan {
		for j, p := range a.params {
			copy(p.Value.Data, values[i][j])
		}
	}
	return nil
}

// countNonFinite counts the NaN and ±Inf values of v.
func countNonFinite(v []float32) (nan, inf int) {
	for _, x := range v {
		switch {
		case x != x:
			nan++
		case math.IsInf(float64(x), 0):
			inf++
		}
	}
	return nan, inf
}

// SaveKerasWeights writes m's weights as a Keras legacy HDF5 weights file
// (what Keras's model.save_weights("x.h5") writes, readable by h5py and
// Keras's legacy load_weights): root attributes layer_names (every layer, in
// order), backend and keras_version; one group per layer with attribute
// weight_names ("<layer>/kernel:0", "<layer>/bias:0"; empty for layers
// without weights) and float32 datasets at those nested paths. The file is
// written atomically (temp file + rename).
func SaveKerasWeights(m *nn.Model, path string) error {
	w := hdf5.NewWriter()
	root := w.Root()
	var names []string
	for _, l := range m.Layers() {
		names = append(names, l.Name())
	}
	root.SetStringsAttr("layer_names", names)
	root.SetStringAttr("backend", "tensorflow")
	root.SetStringAttr("keras_version", "2.13.1")
	for _, l := range m.Layers() {
		g := root.Group(l.Name())
		var wn []string
		for _, p := range l.Params() {
			// Param names are "<layer>/<weight>"; Keras 2 appends ":0".
			layer, weight, ok := strings.Cut(p.Name, "/")
			if !ok || layer != l.Name() || weight == "" || strings.Contains(weight, "/") {
				return fmt.Errorf("vgg: saving %s: layer %q has a parameter named %q, want %q", path, l.Name(), p.Name, l.Name()+"/<weight>")
			}
			wn = append(wn, p.Name+":0")
			g.Group(layer).AddFloat32(weight+":0", p.Value.Shape, p.Value.Data)
		}
		g.SetStringsAttr("weight_names", wn)
	}
	if err := w.WriteFile(path); err != nil {
		return fmt.Errorf("vgg: saving %s: %w", path, err)
	}
	return nil
}
