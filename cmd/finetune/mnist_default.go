package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/optim"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/train"
	"github.com/gotransfer/gotransfer/vgg"
)

// demoPlan sets the sizes of the offline MNIST demonstration.
type demoPlan struct {
	Width          float64 // VGG16 channel multiplier
	PretrainImages int     // digits 0-4 training images used for pre-training
	PretrainEpochs int
	PretrainLR     float64
	PretrainBatch  int
	PretrainShift  int // random ±PretrainShift pixel translations in pre-training
	PretrainDecay  int // the last PretrainDecay pre-training epochs use lr/10
	PretrainRot    int // 4: pre-train on digit × orientation classes (see memSource.rotations)
	PerClass       int // labelled images per digit 5-9
	HeadEpochs     int // transfer stage 1: head on the frozen base
	HeadLR         float64
	FineEpochs     int // transfer stage 2: fine-tune from FineFrom
	FineFrom       string
	FineLR         float64
	Batch          int // batch for transfer and scratch
	ScratchLR      float64
	ValImages      int     // test images shown as val_* per epoch (the final test uses all)
	Shift          int     // random ±Shift pixel translations when training on images (fine-tuning and scratch alike)
	TestImages     int     // 0 = the whole 5-9 test split
	Head           []int   // hidden Dense units of the head
	HeadDropout    float64 // dropout after each hidden head layer (transfer and scratch)
	DecayLast      int     // the last DecayLast epochs of fine-tuning and of scratch training use lr/10
}

// defaultPlan is the full demonstration (about 2.5-3 minutes on 2 cores:
// ~2 minutes of pre-training, then transfer and scratch at ~2 s per epoch).
//
// It follows the Keras blog's two steps: (1) frozen base + new head on
// cached features, (2) fine-tuning, here of the whole base, on a short
// budget (1 + 7 = 8 epochs) that the deep, batch-norm-free VGG16 trained from
// scratch cannot use as well. The pre-training task is digit × orientation
// (20 classes, PretrainRot 4): with the 5 digits alone the top block's
// features collapse onto those classes. docs/DEMO.md lists the variants
// measured while choosing these values, with their results over seeds.
var defaultPlan = demoPlan{
	Width: 0.25, PretrainImages: 30000, PretrainEpochs: 3, PretrainDecay: 1, PretrainRot: 4,
	PretrainLR: 1e-3, PretrainBatch: 32, PretrainShift: 2,
	PerClass: 50, HeadEpochs: 1, HeadLR: 1e-3, HeadDropout: 0,
	FineEpochs: 7, FineFrom: "block1_conv1", FineLR: 1e-3, Shift: 2, DecayLast: 2,
	Batch: 16, ScratchLR: 1e-3, ValImages: 1000, Head: []int{256},
}

// quickPlan is a much smaller run with the same output format, for tests.
var quickPlan = demoPlan{
	Width: 0.125, PretrainImages: 800, PretrainEpochs: 1, PretrainRot: 4, PretrainLR: 1e-3, PretrainBatch: 32,
	PerClass: 10, HeadEpochs: 2, HeadLR: 1e-3, FineEpochs: 1, FineFrom: "block3_conv1", FineLR: 1e-4,
	Batch: 16, ScratchLR: 1e-3, ValImages: 100, TestImages: 300, Head: []int{32}, HeadDropout: 0.5, Shift: 2,
}

// digits holds MNIST images as network inputs: (N, 32, 32, 3) in [0, 1].
type digits struct {
	x      *tensor.Tensor
	labels []int
}

// loadDigits reads one MNIST split, keeps the digits in [lo, hi] (relabelled
// from 0), at most perClass of each (0 = all) and at most limit in total
// (0 = all), padded to 32x32 and copied to 3 channels, scaled by 1/255.
func loadDigits(dir, split string, lo, hi, perClass, limit int) (*digits, error) {
	set, err := dataset.LoadIDX(filepath.Join(dir, split+"-images-idx3-ubyte.gz"), filepath.Join(dir, split+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	count := map[int]int{}
	sub := set.Filter(func(l int) bool {
		if l < lo || l > hi {
			return false
		}
		if perClass > 0 && count[l] >= perClass {
			return false
		}
		count[l]++
		return true
	})
	if limit > 0 && sub.Len() > limit {
		sub.Labels = sub.Labels[:limit]
		sub.Images = sub.Images[:limit*sub.Rows*sub.Cols]
	}
	x, labels := sub.ToTensor(true, 3)
	for i := range x.Data {
		x.Data[i] /= 255
	}
	for i := range labels {
		labels[i] -= lo
	}
	return &digits{x: x, labels: labels}, nil
}

// head returns the first n samples.
func (d *digits) head(n int) *digits {
	if n <= 0 || n >= len(d.labels) {
		return d
	}
	return &digits{x: d.x.Batch(0, n), labels: d.labels[:n]}
}

func (d *digits) source(batch int, shuffle bool, seed uint64) *memSource {
	return &memSource{x: d.x, labels: d.labels, batch: batch, shuffle: shuffle, seed: seed}
}

// demoSpec is the network of the demo: VGG16 topology at p.Width on 32x32x3,
// global average pooling, the head's Dense layers.
func demoSpec(p demoPlan, classes []string, dropout float64) *train.Spec {
	return &train.Spec{
		Format: train.SpecFormat, Architecture: "vgg16", Depth: 16, Width: p.Width,
		InputShape: [3]int{32, 32, 3}, Classes: classes,
		Head:          train.HeadSpec{Pooling: "avg", Hidden: p.Head, Dropout: dropout, Logits: true},
		Preprocessing: train.Preprocessing{Mode: "rescale", Scale: 1.0 / 255, Grayscale: true},
		Weights:       train.WeightsName,
	}
}

func digitNames(lo, hi int) []string {
	var s []string
	for d := lo; d <= hi; d++ {
		s = append(s, fmt.Sprint(d))
	}
	return s
}

// demoOutputs are the callbacks of one demo model's folder: best_model.h5
// on val_accuracy, history.csv and history.png.
func demoOutputs(dir string) []train.Callback {
	return []train.Callback{
		&train.ModelCheckpoint{Path: filepath.Join(dir, bestModelName), Monitor: "val_accuracy"},
		&train.CSVLogger{Path: filepath.Join(dir, "history.csv"), Append: true},
		&historyPlot{Path: filepath.Join(dir, "history.png"), Monitor: "val_accuracy"},
	}
}

// stepDecay is the demo's schedule: lr, and lr/10 from global epoch from
// on (from 0: constant).
func stepDecay(lr float64, from int) train.LRScheduler {
	return train.LRScheduler{Schedule: func(epoch int, _ float64) float64 {
		if from > 0 && epoch >= from {
			return lr / 10
		}
		return lr
	}}
}

// adam returns Keras's Adam at lr.
func adam(lr float64) optim.Optimizer {
	c := optim.KerasAdam()
	c.LR = lr
	return optim.NewAdam(c)
}

// prepareDir creates dir for a fresh demo model, removing stale temporary
// files and moving an earlier run's outputs aside.
func prepareDir(dir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	if err := removeStaleTemps(dir, log); err != nil {
		return err
	}
	return moveAsideOutputs(dir, log)
}

// runDefault is the offline demonstration: pre-train, transfer, baseline.
func runDefault(ctx context.Context, cfg *config, stdout, stderr io.Writer, h *hooks) error {
	t0 := time.Now()
	p := defaultPlan
	if cfg.Quick {
		p = quickPlan
	}
	out := cfg.outDir()
	mnistDir, err := dataset.GoMNISTDir()
	if err != nil {
		return fmt.Errorf("offline demo needs MNIST: %w", err)
	}
	fmt.Fprintln(stdout, "No -data given: running the offline transfer-learning demo on MNIST.")
	fmt.Fprintf(stdout, "Network: VGG16 topology (13 conv layers, 5 max-pools) at width %g (channels %d-%d-%d-%d-%d instead of 64-128-256-512-512),\n",
		p.Width, vgg.Scale(64, p.Width), vgg.Scale(128, p.Width), vgg.Scale(256, p.Width), vgg.Scale(512, p.Width), vgg.Scale(512, p.Width))
	fmt.Fprintln(stdout, "         32x32x3 input: MNIST's 28x28 digits zero-padded to 32x32 and copied to 3 channels, pixels scaled to [0, 1].")
	fmt.Fprintf(stdout, "MNIST files: %s\n", mnistDir)
	seed := cfg.Seed

	// Step 1: pre-training on digits 0-4 (cached).
	base, err := pretrained(ctx, p, mnistDir, seed, stdout, stderr)
	if err != nil {
		return err
	}

	// Data of steps 2 and 3: PerClass labelled images per digit 5-9; the test split.
	few, err := loadDigits(mnistDir, "train", 5, 9, p.PerClass, 0)
	if err != nil {
		return err
	}
	test, err := loadDigits(mnistDir, "t10k", 5, 9, 0, p.TestImages)
	if err != nil {
		return err
	}
	val := test.head(p.ValImages)
	classes := digitNames(5, 9)
	epochs := p.HeadEpochs + p.FineEpochs

	// Step 2: transfer.
	fmt.Fprintf(stdout, "\nStep 2/3: transfer. Frozen pre-trained base + new head (GlobalAveragePooling2D of block5_pool, Dense %v, dropout %g), trained on digits 5-9 with only %d labelled images per class",
		p.Head, p.HeadDropout, p.PerClass)
	fmt.Fprintf(stdout, ";\n         then %d epochs fine-tuning from %s%s (Adam lr %g%s)%s.\n", p.FineEpochs, p.FineFrom, frozenBelowText(p.FineFrom), p.FineLR, decayText(p.DecayLast), shiftText(p.Shift))
	fmt.Fprintf(stdout, "Found %d images belonging to %d classes.\n", len(few.labels), len(classes))
	fmt.Fprintf(stdout, "(val_* columns: the first %d images of the 5-9 test split; the final test uses all %d.)\n", len(val.labels), len(test.labels))
	spec := demoSpec(p, classes, p.HeadDropout)
	spec.BaseWeights = base
	tmodel, _, err := train.Build(spec, seed+2)
	if err != nil {
		return err
	}
	if err := loadBase(tmodel, base); err != nil {
		return fmt.Errorf("cached pre-trained base %s: %w (delete it to pre-train again)", base, err)
	}
	if err := vgg.FreezeBase(tmodel); err != nil {
		return err
	}
	tmodel.Summary(stdout)
	transferOut := filepath.Join(out, "transfer")
	if err := prepareDir(transferOut, stdout); err != nil {
		return err
	}
	outputs := demoOutputs(transferOut)
	upto := train.FirstHeadLayer(tmodel) + 1
	headNet, err := nn.NewModel("head", featureShape(tmodel, upto), tmodel.Layers()[upto:]...)
	if err != nil {
		return err
	}
	fewFeat, fewLabels, err := extractFeatures(ctx, tmodel, few.source(256, false, 0), upto, stdout, stderr, "training")
	if err != nil {
		return err
	}
	valFeat, valLabels, err := extractFeatures(ctx, tmodel, val.source(256, false, 0), upto, stdout, stderr, "validation")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Base features computed once: %v (the head trains on these).\n", fewFeat.Shape)
	fit := func(net *nn.Model, tr, va train.Source, o train.Options) error {
		o.Context, o.Seed, o.Log, o.Progress, o.OnStep = ctx, seed, stdout, stderr, h.onStep
		_, err := train.Fit(net, tr, va, o)
		return err
	}
	err = fit(headNet, train.NewTensorSource(fewFeat, fewLabels, p.Batch, true, seed), train.NewTensorSource(valFeat, valLabels, 256, false, 0),
		train.Options{Stage: "head", Epochs: p.HeadEpochs, TotalEpochs: epochs, Optimizer: adam(p.HeadLR), SaveModel: tmodel, Callbacks: outputs})
	if err != nil {
		return err
	}
	ev, err := train.Evaluate(ctx, tmodel, test.source(256, false, 0), len(classes))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Frozen base + trained head: test accuracy %.4f on %d images of digits 5-9\n", ev.Accuracy, len(test.labels))
	if p.FineEpochs > 0 {
		if err := vgg.UnfreezeFrom(tmodel, p.FineFrom); err != nil {
			return err
		}
		tr, nt := tmodel.CountParams()
		fmt.Fprintf(stdout, "Fine-tuning from %s with lr %g: %d trainable, %d non-trainable params\n", p.FineFrom, p.FineLR, tr, nt)
		err = fit(tmodel, &memSource{x: few.x, labels: few.labels, batch: p.Batch, shuffle: true, seed: seed, shift: p.Shift}, val.source(256, false, 0),
			train.Options{Stage: "fine-tune", InitialEpoch: p.HeadEpochs, Epochs: epochs, Optimizer: adam(p.FineLR),
				Callbacks: append(outputs, stepDecay(p.FineLR, decayFrom(epochs, p.DecayLast)))})
		if err != nil {
			return err
		}
	}
	if err := train.Save(transferOut, tmodel, spec); err != nil {
		return err
	}
	ev, err = train.Evaluate(ctx, tmodel, test.source(256, false, 0), len(classes))
	if err != nil {
		return err
	}
	transferAcc := ev.Accuracy
	fmt.Fprintf(stdout, "Transfer model: test accuracy %.4f on %d images of digits 5-9\n", transferAcc, len(test.labels))
	ev.Confusion.Write(stdout, classes)

	// Step 3: the baseline from scratch.
	fmt.Fprintf(stdout, "\nStep 3/3: baseline. The same network (base + head) from scratch (He-normal init) on the same %d images, %d epochs,\n", len(few.labels), epochs)
	scratchNote := ""
	if p.ScratchLR != p.FineLR && p.FineEpochs > 0 {
		scratchNote = " (the better lr for this net from scratch)"
	}
	fmt.Fprintf(stdout, "         every layer trainable, Adam lr %g%s%s, the same head and dropout%s.\n", p.ScratchLR, scratchNote, decayText(p.DecayLast), shiftText(p.Shift))
	sspec := demoSpec(p, classes, p.HeadDropout)
	smodel, _, err := train.Build(sspec, seed+3)
	if err != nil {
		return err
	}
	train.HeInitBase(smodel, seed+3)
	scratchOut := filepath.Join(out, "scratch")
	if err := prepareDir(scratchOut, stdout); err != nil {
		return err
	}
	tr, nt := smodel.CountParams()
	fmt.Fprintf(stdout, "Trainable params: %d, non-trainable params: %d\n", tr, nt)
	err = fit(smodel, &memSource{x: few.x, labels: few.labels, batch: p.Batch, shuffle: true, seed: seed, shift: p.Shift}, val.source(256, false, 0),
		train.Options{Stage: "scratch", Epochs: epochs, Optimizer: adam(p.ScratchLR),
			Callbacks: append(demoOutputs(scratchOut), stepDecay(p.ScratchLR, decayFrom(epochs, p.DecayLast)))})
	if err != nil {
		return err
	}
	if err := train.Save(scratchOut, smodel, sspec); err != nil {
		return err
	}
	ev, err = train.Evaluate(ctx, smodel, test.source(256, false, 0), len(classes))
	if err != nil {
		return err
	}
	scratchAcc := ev.Accuracy
	fmt.Fprintf(stdout, "\nTest accuracy on digits 5-9 (%d test images), %d labelled training images, %d epochs each:\n", len(test.labels), len(few.labels), epochs)
	fmt.Fprintf(stdout, "  transfer (base pre-trained on digits 0-4): %.4f\n", transferAcc)
	fmt.Fprintf(stdout, "  from scratch:                              %.4f\n", scratchAcc)
	fmt.Fprintf(stdout, "  gap:                                       %+.2f percentage points\n", 100*(transferAcc-scratchAcc))
	fmt.Fprintf(stdout, "Outputs in %s (transfer/ and scratch/: model.h5, model.json, history.csv, history.png, best_model.h5); total time %s\n",
		out, time.Since(t0).Round(time.Second))
	fmt.Fprintf(stdout, "result: transfer_accuracy=%.4f scratch_accuracy=%.4f\n", transferAcc, scratchAcc)
	return nil
}

// pretrained returns the path of the VGG16 pre-trained on digits 0-4,
// training it (and caching it in os.UserCacheDir()/gotransfer) when absent.
func pretrained(ctx context.Context, p demoPlan, mnistDir string, seed uint64, stdout, stderr io.Writer) (string, error) {
	// The cache key covers only what the pre-training depends on. Its
	// layout is kept from earlier plans (the 0 was the pre-training head's
	// dropout rate), so bases cached by earlier versions are found.
	fields := []any{p.Width, p.PretrainImages, p.PretrainEpochs, p.PretrainLR, p.PretrainBatch, p.PretrainShift, p.Head, seed, 1, 0.0}
	if p.PretrainRot > 1 || p.PretrainDecay > 0 {
		fields = append(fields, p.PretrainRot, p.PretrainDecay)
	}
	key, _ := json.Marshal(fields)
	sum := sha256.Sum256(key)
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache folder for the pre-trained base: %w", err)
	}
	dir := filepath.Join(cacheRoot, "gotransfer")
	path := filepath.Join(dir, fmt.Sprintf("mnist04_vgg16_w%g_%s.h5", p.Width, hex.EncodeToString(sum[:6])))
	if _, err := os.Stat(path); err == nil {
		fmt.Fprintf(stdout, "\nStep 1/3: pre-training skipped: using the base cached in %s (delete it to pre-train again).\n", path)
		return path, nil
	}
	fmt.Fprintf(stdout, "\nStep 1/3: pre-training the network on MNIST digits 0-4 (%d images, %d epoch(s), Adam lr %g%s, He-normal init, ±%d-pixel shifts).\n",
		p.PretrainImages, p.PretrainEpochs, p.PretrainLR, decayText(p.PretrainDecay), p.PretrainShift)
	classes := pretrainClasses(p.PretrainRot)
	if p.PretrainRot > 1 {
		fmt.Fprintf(stdout, "         Task: %d classes, digit × orientation: each image is turned by a random number of quarter turns and labelled\n"+
			"         with both (\"3@90\"). Five classes alone let the top block collapse onto those digits; the richer task\n"+
			"         keeps its features more general.\n", len(classes))
	}
	pre, err := loadDigits(mnistDir, "train", 0, 4, 0, p.PretrainImages)
	if err != nil {
		return "", err
	}
	preTest, err := loadDigits(mnistDir, "t10k", 0, 4, 0, p.ValImages)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(stdout, "Found %d images belonging to %d classes.\n", len(pre.labels), len(classes))
	spec := demoSpec(p, classes, 0)
	m, _, err := train.Build(spec, seed+1)
	if err != nil {
		return "", err
	}
	train.HeInitBase(m, seed+1)
	m.Summary(stdout)
	_, err = train.Fit(m,
		&memSource{x: pre.x, labels: pre.labels, batch: p.PretrainBatch, shuffle: true, seed: seed + 1, shift: p.PretrainShift, rotations: p.PretrainRot},
		&memSource{x: preTest.x, labels: preTest.labels, batch: 256, seed: seed + 1, rotations: p.PretrainRot},
		train.Options{Context: ctx, Stage: "pretrain", Epochs: p.PretrainEpochs, Optimizer: adam(p.PretrainLR), Seed: seed,
			Log: stdout, Progress: stderr, Callbacks: []train.Callback{stepDecay(p.PretrainLR, decayFrom(p.PretrainEpochs, p.PretrainDecay))}})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("caching the pre-trained base: %w", err)
	}
	// Cache the base only (block1_conv1 … block5_pool), like Keras's notop files.
	baseOnly, err := nn.NewModel("vgg16_mnist04_base", m.InputShape(), m.Layers()[:train.FirstHeadLayer(m)]...)
	if err != nil {
		return "", err
	}
	if err := vgg.SaveKerasWeights(baseOnly, path); err != nil {
		return "", fmt.Errorf("caching the pre-trained base: %w", err)
	}
	fmt.Fprintf(stdout, "Pre-trained network cached in %s\n", path)
	return path, nil
}

// pretrainClasses names the pre-training classes: the digits 0-4, or with
// rot 4 each digit in each orientation ("3@90").
func pretrainClasses(rot int) []string {
	if rot <= 1 {
		return digitNames(0, 4)
	}
	var s []string
	for d := 0; d <= 4; d++ {
		for r := 0; r < rot; r++ {
			s = append(s, fmt.Sprintf("%d@%d", d, r%4*90))
		}
	}
	return s
}

// decayFrom is the first global epoch of the lr/10 phase (0 = no decay).
func decayFrom(epochs, last int) int {
	if last <= 0 || last >= epochs {
		return 0
	}
	return epochs - last
}

// frozenBelowText says which layers stay frozen during fine-tuning.
func frozenBelowText(from string) string {
	if from == "" || from == "block1_conv1" {
		return " (the whole base)"
	}
	return " on (the layers below stay frozen)"
}

func decayText(last int) string {
	if last <= 0 {
		return ""
	}
	return fmt.Sprintf(", lr/10 for the last %d epochs", last)
}

func shiftText(shift int) string {
	if shift <= 0 {
		return ", no augmentation"
	}
	return fmt.Sprintf(", random ±%d-pixel shifts", shift)
}
