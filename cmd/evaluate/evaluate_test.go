package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/internal/cmdtest"
	"github.com/gotransfer/gotransfer/train"
)

// writePNG and savedModel are the shared command-test fixtures.
var (
	writePNG   = cmdtest.WritePNG
	savedModel = cmdtest.SavedModel
)

// TestEvaluateFolder: a folder whose classes are a subset of the model's,
// listed in another order than the model's (bees before wasps, no ants),
// with a nested file and a corrupt one. The JSON's confusion matrix, loss
// and accuracy equal those counted here from the reference network's
// logits (rebuilt from the seed) and the folder names.
func TestEvaluateFolder(t *testing.T) {
	model, spec := savedModel(t)
	data := filepath.Join(t.TempDir(), "val")
	truth := map[string]int{}
	for ci, c := range map[string]int{"bees": 1, "wasps": 2} {
		os.MkdirAll(filepath.Join(data, ci, "sub"), 0o755)
		for i := 0; i < 4; i++ {
			p := filepath.Join(data, ci, fmt.Sprintf("%d.png", i))
			if i == 3 {
				p = filepath.Join(data, ci, "sub", "3.png")
			}
			writePNG(t, p, i*3+c)
			truth[p] = c
		}
	}
	corrupt := filepath.Join(data, "bees", "broken.jpg")
	os.WriteFile(corrupt, []byte("\xff\xd8\xff not a JPEG"), 0o644)

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-model", model, "-format", "json", data}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "skipping "+corrupt) || !strings.Contains(errb.String(), `class "ants" (support 0)`) {
		t.Errorf("stderr:\n%s", errb.String())
	}
	var got struct {
		Samples   int     `json:"samples"`
		Loss      float64 `json:"loss"`
		Accuracy  float64 `json:"accuracy"`
		Confusion [][]int `json:"confusion_matrix"`
		Skipped   []struct{ Path string }
		Report    map[string]json.RawMessage `json:"report"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}

	// Reference: the same network rebuilt from the seed, on each file.
	ref, _, err := train.Build(spec, 11)
	if err != nil {
		t.Fatal(err)
	}
	train.HeInitBase(ref, 11)
	want := [3][3]int{}
	var loss float64
	correct := 0
	for p, c := range truth {
		x, _, _, err := train.LoadImages(context.Background(), spec, []string{p})
		if err != nil {
			t.Fatal(err)
		}
		z := ref.Forward(x, false).Data
		best, lse := 0, 0.0
		for j := range z {
			if z[j] > z[best] {
				best = j
			}
			lse += math.Exp(float64(z[j]))
		}
		loss += math.Log(lse) - float64(z[c])
		want[c][best]++
		if best == c {
			correct++
		}
	}
	loss /= float64(len(truth))
	if got.Samples != 8 || len(got.Skipped) != 1 || got.Skipped[0].Path != corrupt {
		t.Errorf("samples %d skipped %+v", got.Samples, got.Skipped)
	}
	for i := range want {
		for j := range want[i] {
			if got.Confusion[i][j] != want[i][j] {
				t.Errorf("confusion %v, want %v", got.Confusion, want)
			}
		}
	}
	if math.Abs(got.Loss-loss) > 1e-5*loss || got.Accuracy != float64(correct)/8 {
		t.Errorf("loss %v accuracy %v, want %v %v", got.Loss, got.Accuracy, loss, float64(correct)/8)
	}
	if _, ok := got.Report["weighted avg"]; !ok {
		t.Errorf("report keys %v", got.Report)
	}

	// text format: the Keras line and the report
	out.Reset()
	if err := run(context.Background(), []string{"-model", model, data}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "8 images (1 skipped): loss: ") || !strings.Contains(s, "weighted avg") || !strings.Contains(s, "[2] wasps") {
		t.Errorf("text output:\n%s", s)
	}
}

func TestEvaluateErrors(t *testing.T) {
	model, _ := savedModel(t)
	data := filepath.Join(t.TempDir(), "val")
	os.MkdirAll(filepath.Join(data, "hornets"), 0o755)
	writePNG(t, filepath.Join(data, "hornets", "1.png"), 1)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{data}, "-model DIR is required"},
		{[]string{"-model", model}, "one labelled folder"},
		{[]string{"-model", model, "-format", "xml", data}, "-format"},
		{[]string{"-model", model, data}, "hornets: not classes of the model, which knows ants, bees, wasps"},
		{[]string{"-model", filepath.Join(model, "nope"), data}, "model.json"},
	} {
		err := run(context.Background(), c.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
