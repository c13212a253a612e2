package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/train"
)

func TestTranslate(t *testing.T) {
	// 3x3 single-channel image 1..9 moved right by 1 and up by 1.
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	dst := make([]float32, 9)
	translate(dst, src, 3, 3, 1, 1, -1)
	want := []float32{0, 4, 5, 0, 7, 8, 0, 0, 0}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("got %v, want %v", dst, want)
		}
	}
}

func TestParseSizeAndHead(t *testing.T) {
	if h, w, err := parseSize("150x120"); err != nil || h != 150 || w != 120 {
		t.Errorf("parseSize: %d %d %v", h, w, err)
	}
	for _, bad := range []string{"31", "0", "abc", "32x31", "1x2x3"} {
		if _, _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	if u, err := parseHead("512, 128"); err != nil || len(u) != 2 || u[0] != 512 || u[1] != 128 {
		t.Errorf("parseHead: %v %v", u, err)
	}
	if _, err := parseHead("12,x"); err == nil {
		t.Error("parseHead accepted 12,x")
	}
}

// TestInterpolationDefault: -interpolation defaults to nearest, as Keras's
// flow_from_directory does.
func TestInterpolationDefault(t *testing.T) {
	cfg, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interpolation != "nearest" {
		t.Errorf("default -interpolation %q, want nearest", cfg.Interpolation)
	}
}

// TestSummaryColumnsAligned: the transfer model's summary (with the long
// "global_average_pooling2d (GlobalAveragePooling2D)" cell) keeps every
// layer row's Output Shape column at the header's position.
func TestSummaryColumnsAligned(t *testing.T) {
	spec := demoSpec(quickPlan, digitNames(5, 9), 0.5)
	m, _, err := train.Build(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	m.Summary(&b)
	lines := strings.Split(b.String(), "\n")
	col := -1
	rows := 0
	for _, l := range lines {
		if strings.HasPrefix(l, " Layer (type)") {
			col = strings.Index(l, "Output Shape")
			continue
		}
		if col < 0 || !strings.HasPrefix(l, " ") || !strings.Contains(l, "(None") {
			continue
		}
		rows++
		if got := strings.Index(l, "(None"); got != col {
			t.Errorf("shape at column %d, header at %d: %q", got, col, l)
		}
		if l[col-1] != ' ' {
			t.Errorf("no space before the shape column: %q", l)
		}
	}
	if col < 0 || rows < 20 || !strings.Contains(b.String(), "global_average_pooling2d (GlobalAveragePooling2D)") {
		t.Fatalf("unexpected summary (%d rows):\n%s", rows, b.String())
	}
}

// TestNewFlagValues: the new flags parse into the config, and bad values
// are usage errors naming the flag.
func TestNewFlagValues(t *testing.T) {
	cfg, err := parseFlags([]string{"-brightness-range", "0.8,1.2", "-channel-shift-range", "20", "-reduce-lr", "3,0.5",
		"-early-stopping", "4", "-monitor", "val_loss", "-class-weight", "balanced", "-optimizer", "adamw", "-decode-memory", "512MiB"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Brightness != [2]float64{0.8, 1.2} || cfg.ChannelShift != 20 || !cfg.Augment || cfg.ReduceLR != 3 || cfg.ReduceFactor != 0.5 ||
		cfg.EarlyStopping != 4 || cfg.Monitor != "val_loss" || cfg.ClassWeight != "balanced" || cfg.Optimizer != "adamw" || cfg.DecodeMemory != 512<<20 {
		t.Errorf("parsed %+v", cfg)
	}
	if cfg, _ := parseFlags([]string{"-reduce-lr", "2"}, &bytes.Buffer{}); cfg == nil || cfg.ReduceFactor != 0.1 {
		t.Error("-reduce-lr 2: factor not Keras's 0.1")
	}
	for _, bad := range [][]string{{"-brightness-range", "1.2"}, {"-brightness-range", "1.2,0.8"}, {"-reduce-lr", "0"}, {"-reduce-lr", "2,1.5"},
		{"-decode-memory", "1MiB"}, {"-monitor", "loss2"}, {"-class-weight", "auto"}, {"-optimizer", "rmsprop"}, {"-early-stopping", "-1"}} {
		_, err := parseFlags(bad, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "-")) {
			t.Errorf("%v: error %v, want one naming the flag", bad, err)
		}
	}
}
