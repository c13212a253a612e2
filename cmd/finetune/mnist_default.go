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
	"github.com/gotransfer/gotransfer/internal/train"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// demoPlan sets the sizes of the offline MNIST demonstration.
type demoPlan struct {
	Width          float64 // VGG16 channel multiplier
	PretrainImages int     // digits 0-4 training images used for pre-training
	PretrainEpochs int
	PretrainLR     float64
	PretrainBatch  int
	PerClass       int // labelled images per digit 5-9
	HeadEpochs     int // transfer stage 1: head on the frozen base
	HeadLR         float64
	FineEpochs     int // transfer stage 2: fine-tune from FineFrom
	FineFrom       string
	FineLR         float64
	FineWarmup     int     // steps of linear lr warm-up at the start of fine-tuning
	FineBaseLR     float64 // > 0: the base's layers fine-tune at FineLR·FineBaseLR (the head at FineLR)
	Batch          int     // batch for transfer and scratch
	ScratchLR      float64
	ValImages      int     // test images shown as val_* per epoch (the final test uses all)
	NoScratch      bool    // skip step 3 (tuning only)
	Shift          int     // random ±Shift pixel translations when training on images (fine-tuning and scratch alike)
	PretrainShift  int     // the same for pre-training
	PretrainDrop   float64 // head dropout during pre-training
	PretrainDecay  int     // the last PretrainDecay pre-training epochs use lr/10
	PretrainTilt   float64 // > 0: pre-training images also tilted by ±PretrainTilt degrees
	PretrainZoom   float64 // > 0: and scaled by 1 ± PretrainZoom
	PretrainRot    int     // 4 or 8: pre-train on digit × orientation classes (see memSource.rotations); 0 = digits only
	TestImages     int     // 0 = the whole 5-9 test split
	Head           []int
	HeadDropout    float64 // dropout after each hidden head layer (transfer and scratch)
	HeadFrom       string  // base layer the transfer/scratch head reads ("" = block5_pool)
	HeadPooling    string  // avg, max or flatten
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
// features collapse onto those classes (a frozen-base head on 5-9: 0.60-0.74;
// with orientations 0.78-0.90).
//
// Measured (test accuracy on the full 5-9 split, transfer / scratch; all
// with ±2-pixel shifts, Dense 256, Adam; seeds 1, 2, 3, ...):
//   - this plan (width 1/4; pre-training 3 epochs, the last at lr/10, digit × orientation;
//     50 labelled images per class; head 1 epoch, then the whole network at 1e-3 for 7, the
//     last 2 at 1e-4): 0.9488/0.9029, 0.9702/0.8111, 0.9706/0.7766, 0.9679/0.8502,
//     0.9338/0.6591 (gap +4.6, +15.9, +19.4, +11.8, +27.5 points)
//   - the same with 100 per class, the default until the in-place dKernel (nn/conv_toeplitz.go)
//     changed the summation order of three layers' weight gradients (below 1e-6 relative):
//     before, 0.9749/0.9340, 0.9681/0.9424, 0.9720/0.9459, 0.9780/0.9383, 0.9696/0.9058
//     (gap +2.6 to +6.4); after, 0.9578/0.9591, 0.9638/0.9525, 0.9533/0.8235, 0.9728/0.9426,
//     0.9632/0.9438 (gap -0.1 to +13.0). That plan had been chosen among the variants below
//     on those exact trajectories, so a rounding-level change showed its true spread; with
//     fine-tuning at 3e-4: 0.9517, 0.9642, 0.9693, 0.9733, 0.9689 (seed 1 still behind).
//     With 50 per class, 3e-4: 0.9498, 0.9449, 0.9595, 0.9593, 0.9477.
//   - the same at width 1/8: 0.9685/0.9377, 0.9726/0.9171, 0.9696/0.9317, 0.9638/0.9480,
//     0.9681/0.9233; with a 32-step lr warm-up: 0.9702, 0.9667, 0.9661, 0.9683, 0.9768;
//     pre-training 5 epochs: 0.9706, 0.9677, 0.9671; ±12° tilt and ±10 % zoom in
//     pre-training: 0.9654, 0.9735, 0.9607
//   - width 1/8, head 2 + fine 6: 0.9677/0.9498, 0.9722/0.9171, 0.9691/0.9420; with decay 3 and
//     fine lr 1.5e-3: 0.9735/0.9455, 0.9671/0.9144, 0.9689/0.9226; fine lr 2e-3: 0.9735, 0.9652,
//     0.9589; batch 8: 0.9712/0.9547, 0.9667/0.9504, 0.9687/0.9440; 6 epochs (2 + 4) at batch 8:
//     0.9698/0.9523, 0.9743/0.9187, 0.9584/0.9270
//   - width 1/8, pre-training 2 epochs, head 2 + fine 6 from block1_conv1: 0.9716, 0.9704, 0.9638;
//     from block3_conv1: 0.9681, 0.9621, 0.9617; 10 epochs (2 + 8): 0.9675/0.9589, 0.9724/0.9412,
//     0.9601/0.9506; digits-only pre-training (no orientations), block3: 0.9601, 0.9545, 0.9630;
//     the eight symmetries (PretrainRot 8) instead of 4 rotations: 0.9654, 0.9712, 0.9591
//   - discriminative fine-tuning (base at a lower lr than the head, FineBaseLR): base ×0.3
//     0.9572, 0.9644, 0.9574; head 3e-3 + base ×0.1: 0.9552, 0.9628, 0.9512 — the base has to move
//   - width 1/4 with a 14-epoch plan (1 pre-training epoch): 0.9698/0.9747, 0.9669/0.9735 —
//     given 14 epochs the network learns the 500 images from scratch as well
//   - the previous default (width 1/8, 14 epochs: head 2, fine block3_conv1 at 2e-3 for 12,
//     digits-only pre-training): 0.9737/0.9624, 0.9702/0.9628
//
// Differences below ~2 points are within seed noise, and a change in the
// kernels' summation order moves single results by as much: the demo uses
// 50 labelled images per class, where the gap is several times that noise.
// 500 labelled digits cap transfer near 0.97-0.98; what the pre-trained
// base buys is learning from few labels, which 250 images and an 8-epoch
// budget show.
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

// demoSpec is the network of the demo: VGG16 topology at p.Width on 32x32x3.
func demoSpec(p demoPlan, classes []string, dropout float64) *train.Spec {
	pool := p.HeadPooling
	if pool == "" {
		pool = "avg"
	}
	return &train.Spec{
		Format: train.SpecFormat, Architecture: "vgg16", Depth: 16, Width: p.Width,
		InputShape: [3]int{32, 32, 3}, Classes: classes,
		Head:          train.HeadSpec{Pooling: pool, From: p.HeadFrom, Hidden: p.Head, Dropout: dropout, Logits: true},
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

// runDefault is the offline demonstration: pre-train, transfer, baseline.
func runDefault(ctx context.Context, cfg *config, stdout, stderr io.Writer, h *hooks) error {
	t0 := time.Now()
	p := defaultPlan
	if cfg.Quick {
		p = quickPlan
	}
	// GOTRANSFER_DEMO_PLAN (JSON, undocumented) overrides plan fields: for tuning.
	if s := os.Getenv("GOTRANSFER_DEMO_PLAN"); s != "" {
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			return fmt.Errorf("GOTRANSFER_DEMO_PLAN: %w", err)
		}
	}
	out := cfg.Out
	if out == "" {
		out = "finetune-out"
	}
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
	fmt.Fprintf(stdout, "\nStep 2/3: transfer. Frozen pre-trained base + new head (%s, Dense %v, dropout %g), trained on digits 5-9 with only %d labelled images per class",
		poolingName(p), p.Head, p.HeadDropout, p.PerClass)
	if p.HeadFrom != "" {
		fmt.Fprintf(stdout, ";\n         the base is cut at %s: the top block's features are specific to digits 0-4, its lower ones are general\n"+
			"         (Keras: Model(base.input, base.get_layer(%q).output))", p.HeadFrom, p.HeadFrom)
	}
	fmt.Fprintf(stdout, ";\n         then %d epochs fine-tuning from %s%s (Adam lr %g%s)%s.\n", p.FineEpochs, p.FineFrom, frozenBelowText(p.FineFrom), p.FineLR, decayText(p.DecayLast), shiftText(p.Shift))
	fmt.Fprintf(stdout, "Found %d images belonging to %d classes.\n", len(few.labels), len(classes))
	fmt.Fprintf(stdout, "(val_* columns: the first %d images of the 5-9 test split; the final test uses all %d.)\n", len(val.labels), len(test.labels))
	spec := demoSpec(p, classes, p.HeadDropout)
	spec.BaseWeights = base
	tmodel, tdrops, err := train.Build(spec, seed+2)
	if err != nil {
		return err
	}
	if err := loadBase(tmodel, base, stderr); err != nil {
		return fmt.Errorf("cached pre-trained base %s: %w (delete it to pre-train again)", base, err)
	}
	if err := vgg.FreezeBase(tmodel); err != nil {
		return err
	}
	tmodel.Summary(stdout)
	transferOut := filepath.Join(out, "transfer")
	if err := os.MkdirAll(transferOut, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	spec.Layers = describeLayers(tmodel)
	if err := train.WriteSpec(transferOut, spec); err != nil {
		return err
	}
	r := &runner{Full: tmodel, Dropouts: tdrops, Seed: seed, RunKey: "demo", Out: transferOut, Epochs: epochs,
		Stdout: stdout, Stderr: stderr, BestEpoch: -1, OnStep: h.onStep,
		SaveWeights: func(path string) error { return vgg.SaveKerasWeights(tmodel, path) }}
	upto := train.FirstHeadLayer(tmodel) + 1
	headNet, err := nn.NewModel("head", featureShape(tmodel, upto), tmodel.Layers()[upto:]...)
	if err != nil {
		return err
	}
	fewFeat, fewLabels, err := extractFeatures(ctx, tmodel, few.source(256, false, 0), upto, stderr, "training")
	if err != nil {
		return err
	}
	valFeat, valLabels, err := extractFeatures(ctx, tmodel, val.source(256, false, 0), upto, stderr, "validation")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Base features computed once: %v (the head trains on these).\n", fewFeat.Shape)
	st1 := &stage{Index: 0, Name: "head", Net: headNet, From: 0, To: p.HeadEpochs, LR: p.HeadLR,
		Train: &memSource{x: fewFeat, labels: fewLabels, batch: p.Batch, shuffle: true, seed: seed},
		Val:   &memSource{x: valFeat, labels: valLabels, batch: 256}}
	if err := r.runStage(ctx, st1, nil); err != nil {
		return err
	}
	_, frozenAcc, _, err := evaluate(ctx, tmodel, test.source(256, false, 0), len(classes))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Frozen base + trained head: test accuracy %.4f on %d images of digits 5-9\n", frozenAcc, len(test.labels))
	if p.FineEpochs > 0 {
		if err := vgg.UnfreezeFrom(tmodel, p.FineFrom); err != nil {
			return err
		}
		tr, nt := tmodel.CountParams()
		fmt.Fprintf(stdout, "Fine-tuning from %s with lr %g: %d trainable, %d non-trainable params\n", p.FineFrom, p.FineLR, tr, nt)
		st2 := &stage{Index: 1, Name: "fine-tune", Net: tmodel, From: p.HeadEpochs, To: epochs, LR: p.FineLR, DecayFrom: decayFrom(epochs, p.DecayLast),
			LayerLR: baseLayerLR(tmodel, p.FineBaseLR), WarmupSteps: p.FineWarmup,
			Train: &memSource{x: few.x, labels: few.labels, batch: p.Batch, shuffle: true, seed: seed, shift: p.Shift}, Val: val.source(256, false, 0)}
		if err := r.runStage(ctx, st2, nil); err != nil {
			return err
		}
	}
	if err := vgg.SaveKerasWeights(tmodel, filepath.Join(transferOut, train.WeightsName)); err != nil {
		return err
	}
	_, transferAcc, cm, err := evaluate(ctx, tmodel, test.source(256, false, 0), len(classes))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Transfer model: test accuracy %.4f on %d images of digits 5-9\n", transferAcc, len(test.labels))
	cm.write(stdout, classes)

	if p.NoScratch {
		fmt.Fprintf(stdout, "result: transfer_accuracy=%.4f scratch_accuracy=NaN\n", transferAcc)
		return nil
	}
	// Step 3: the baseline from scratch.
	fmt.Fprintf(stdout, "\nStep 3/3: baseline. The same network (base + head) from scratch (He-normal init) on the same %d images, %d epochs,\n", len(few.labels), epochs)
	scratchNote := ""
	if p.ScratchLR != p.FineLR && p.FineEpochs > 0 {
		scratchNote = " (the better lr for this net from scratch)"
	}
	fmt.Fprintf(stdout, "         every layer trainable, Adam lr %g%s%s, the same head and dropout%s.\n", p.ScratchLR, scratchNote, decayText(p.DecayLast), shiftText(p.Shift))
	sspec := demoSpec(p, classes, p.HeadDropout)
	smodel, sdrops, err := train.Build(sspec, seed+3)
	if err != nil {
		return err
	}
	train.HeInitBase(smodel, seed+3)
	scratchOut := filepath.Join(out, "scratch")
	if err := os.MkdirAll(scratchOut, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	sspec.Layers = describeLayers(smodel)
	if err := train.WriteSpec(scratchOut, sspec); err != nil {
		return err
	}
	tr, nt := smodel.CountParams()
	fmt.Fprintf(stdout, "Trainable params: %d, non-trainable params: %d\n", tr, nt)
	rs := &runner{Full: smodel, Dropouts: sdrops, Seed: seed, RunKey: "demo-scratch", Out: scratchOut, Epochs: epochs,
		Stdout: stdout, Stderr: stderr, BestEpoch: -1,
		SaveWeights: func(path string) error { return vgg.SaveKerasWeights(smodel, path) }}
	st := &stage{Index: 0, Name: "scratch", Net: smodel, From: 0, To: epochs, LR: p.ScratchLR, DecayFrom: decayFrom(epochs, p.DecayLast),
		Train: &memSource{x: few.x, labels: few.labels, batch: p.Batch, shuffle: true, seed: seed, shift: p.Shift}, Val: val.source(256, false, 0)}
	if err := rs.runStage(ctx, st, nil); err != nil {
		return err
	}
	if err := vgg.SaveKerasWeights(smodel, filepath.Join(scratchOut, train.WeightsName)); err != nil {
		return err
	}
	_, scratchAcc, _, err := evaluate(ctx, smodel, test.source(256, false, 0), len(classes))
	if err != nil {
		return err
	}
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
	// The cache key covers only what the pre-training depends on.
	fields := []any{p.Width, p.PretrainImages, p.PretrainEpochs, p.PretrainLR, p.PretrainBatch, p.PretrainShift, p.Head, seed, 1, p.PretrainDrop}
	if p.PretrainRot > 1 || p.PretrainDecay > 0 {
		fields = append(fields, p.PretrainRot, p.PretrainDecay)
	}
	if p.PretrainTilt > 0 || p.PretrainZoom > 0 {
		fields = append(fields, p.PretrainTilt, p.PretrainZoom)
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
		how := "turned by a random number of quarter turns"
		if p.PretrainRot == 8 {
			how = "turned by a random number of quarter turns and mirrored or not"
		}
		fmt.Fprintf(stdout, "         Task: %d classes, digit × orientation: each image is %s and labelled\n"+
			"         with both (\"3@90\"). Five classes alone let the top block collapse onto those digits; the richer task\n"+
			"         keeps its features more general.\n", len(classes), how)
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
	pp := p
	pp.HeadFrom, pp.HeadPooling = "", "avg" // pre-training uses the whole VGG16 base
	spec := demoSpec(pp, classes, p.PretrainDrop)
	m, drops, err := train.Build(spec, seed+1)
	if err != nil {
		return "", err
	}
	train.HeInitBase(m, seed+1)
	m.Summary(stdout)
	r := &runner{Full: m, Dropouts: drops, Seed: seed, Epochs: p.PretrainEpochs, Stdout: stdout, Stderr: stderr, BestEpoch: -1}
	st := &stage{Index: 0, Name: "pretrain", Net: m, From: 0, To: p.PretrainEpochs, LR: p.PretrainLR, DecayFrom: decayFrom(p.PretrainEpochs, p.PretrainDecay),
		Train: &memSource{x: pre.x, labels: pre.labels, batch: p.PretrainBatch, shuffle: true, seed: seed + 1, shift: p.PretrainShift, rotations: p.PretrainRot,
			tilt: p.PretrainTilt, zoom: p.PretrainZoom},
		Val: &memSource{x: preTest.x, labels: preTest.labels, batch: 256, seed: seed + 1, rotations: p.PretrainRot}}
	if err := r.runStage(ctx, st, nil); err != nil {
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
// rot 4 or 8 each digit in each orientation ("3@90", mirrored "3@90m").
func pretrainClasses(rot int) []string {
	if rot <= 1 {
		return digitNames(0, 4)
	}
	var s []string
	for d := 0; d <= 4; d++ {
		for r := 0; r < rot; r++ {
			name := fmt.Sprintf("%d@%d", d, r%4*90)
			if r >= 4 {
				name += "m"
			}
			s = append(s, name)
		}
	}
	return s
}

// baseLayerLR maps every base layer of m (below the head) to scale, or
// returns nil when scale is 0.
func baseLayerLR(m *nn.Model, scale float64) map[string]float64 {
	if scale == 0 {
		return nil
	}
	lr := map[string]float64{}
	for _, l := range m.Layers()[:train.FirstHeadLayer(m)] {
		lr[l.Name()] = scale
	}
	return lr
}

// decayFrom is the first global epoch of the lr/10 phase (0 = no decay).
func decayFrom(epochs, last int) int {
	if last <= 0 || last >= epochs {
		return 0
	}
	return epochs - last
}

// poolingName describes how the head reduces the base's output.
func poolingName(p demoPlan) string {
	from := "block5_pool"
	if p.HeadFrom != "" {
		from = p.HeadFrom
	}
	switch p.HeadPooling {
	case "flatten":
		return "Flatten of " + from
	case "max":
		return "GlobalMaxPooling2D of " + from
	}
	return "GlobalAveragePooling2D of " + from
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
