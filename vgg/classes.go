package vgg

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

//go:generate go run ./internal/genclasses -o imagenet_classes.txt

// imagenetClassesText is imagenet_classes.txt: 1000 lines "synset<TAB>name" in
// Keras's class-index order, generated from Debian's darknet data by
// internal/genclasses.
//
//go:embed imagenet_classes.txt
var imagenetClassesText string

// Class is one ImageNet (ILSVRC-2012) class: its WordNet synset ID (e.g.
// "n01440764") and a short English name (e.g. "tench").
type Class struct {
	ID   string
	Name string
}

var (
	classesOnce sync.Once
	classes     []Class
)

// ImageNetClasses returns the 1000 ImageNet classes indexed exactly like the
// outputs of the include_top "predictions" layer of Keras's ImageNet VGG
// weights (and Keras's decode_predictions): index 0 is n01440764 "tench",
// index 999 is n15075141 "toilet tissue". The returned slice is a fresh copy.
func ImageNetClasses() []Class {
	classesOnce.Do(func() {
		var err error
		classes, err = parseClasses(imagenetClassesText)
		if err != nil {
			panic("vgg: embedded imagenet_classes.txt is corrupt: " + err.Error())
		}
	})
	return append([]Class(nil), classes...)
}

// parseClasses reads "synset<TAB>name" lines.
func parseClasses(text string) ([]Class, error) {
	var out []Class
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		id, name, ok := strings.Cut(line, "\t")
		if !ok || id == "" || name == "" {
			return nil, fmt.Errorf("line %d: want synset<TAB>name, got %q", i+1, line)
		}
		out = append(out, Class{ID: id, Name: name})
	}
	return out, nil
}

// Prediction is one entry of DecodePredictions: class index, class and probability.
type Prediction struct {
	Index int
	Class
	Prob float32
}

// DecodePredictions returns, like Keras's decode_predictions, the top
// classes of one probability vector probs (length 1000, predictions-layer
// output for one image), most probable first.
func DecodePredictions(probs []float32, top int) ([]Prediction, error) {
	cls := ImageNetClasses()
	if len(probs) != len(cls) {
		return nil, fmt.Errorf("vgg: DecodePredictions wants %d ImageNet probabilities, got %d", len(cls), len(probs))
	}
	if top > len(probs) {
		top = len(probs)
	}
	var out []Prediction
	used := make([]bool, len(probs))
	for k := 0; k < top; k++ {
		best := -1
		for i, p := range probs {
			if !used[i] && (best < 0 || p > probs[best]) {
				best = i
			}
		}
		used[best] = true
		out = append(out, Prediction{Index: best, Class: cls[best], Prob: probs[best]})
	}
	return out, nil
}
