package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gotransfer/gotransfer/internal/shards"
)

// TestMain lets the tests run this command as a separate process: the test
// binary re-executed with FEATURES_TEST_MAIN=1 runs main().
func TestMain(m *testing.M) {
	if os.Getenv("FEATURES_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// command runs the features command in its own process.
func command(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "FEATURES_TEST_MAIN=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestHelpExitsZero(t *testing.T) {
	out, err := command(t, nil, "-h")
	if err != nil || !strings.Contains(out, "-shard") {
		t.Errorf("-h: %v\n%s", err, out)
	}
	out, err = command(t, nil, "-pooling", "sum")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("bad flag: exit %v, want 2\n%s", err, out)
	}
	if err := run([]string{"-h"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run -h: %v", err)
	}
}

// photoSet links a few hymenoptera photos (both classes, the GIF
// placeholder among them) and one corrupt file into a fresh folder.
func photoSet(t *testing.T, perClass int) string {
	t.Helper()
	src, err := filepath.Abs("../../../shared/datasets/hymenoptera/train")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Skipf("shared photos not found at %s: %v", src, err)
	}
	dir := filepath.Join(t.TempDir(), "photos")
	for _, c := range []string{"ants", "bees"} {
		os.MkdirAll(filepath.Join(dir, c), 0o755)
		names, _ := filepath.Glob(filepath.Join(src, c, "*"))
		sort.Strings(names)
		var pick []string
		for _, n := range names {
			if strings.HasSuffix(n, ".gif") {
				pick = append(pick, n)
			}
		}
		pick = append(pick, names[:perClass-len(pick)]...)
		for _, n := range pick {
			if err := os.Symlink(n, filepath.Join(dir, c, filepath.Base(n))); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.WriteFile(filepath.Join(dir, "bees", "broken.jpg"), []byte("\xff\xd8\xff\xe0 not really a JPEG"), 0o644)
	return dir
}

// TestShardsEqualSingleRun: three shard processes over a photo folder,
// merged by internal/shards, give exactly (bit for bit) the features,
// rows, labels and classes of one unsharded run. With -batch 8 each shard
// (7 files) runs one partial batch and the single run ends with one of 5:
// without the padding to 8 rows, 80 of the 640 values differ in their last
// bits (checked by removing it), since the convolutions' float32 rounding
// depends on the batch size they are planned for.
func TestShardsEqualSingleRun(t *testing.T) {
	photos := photoSet(t, 10) // 20 photos + 1 corrupt file
	tmp := t.TempDir()
	common := []string{"-weights", weightsFile, "-size", "48", "-pooling", "avg", "-batch", "8"}
	single := filepath.Join(tmp, "single", "feat.npy")
	os.MkdirAll(filepath.Dir(single), 0o755)
	if out, err := command(t, nil, append(common, "-o", single, photos)...); err != nil {
		t.Fatalf("single run: %v\n%s", err, out)
	}
	shardDir := filepath.Join(tmp, "shards")
	for i := 0; i < 3; i++ {
		env := []string{"JOB_COMPLETION_INDEX=" + string(rune('0'+i)), "JOB_COMPLETIONS=3"}
		args := append(common, "-shard", "auto", "-o", shardDir, photos)
		if i == 1 { // one shard named explicitly
			env, args = nil, append(common, "-shard", "1/3", "-o", shardDir, photos)
		}
		if out, err := command(t, env, args...); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, out)
		}
	}
	merged, err := shards.Merge(shardDir)
	if err != nil {
		t.Fatal(err)
	}
	one, err := shards.Merge(single)
	if err != nil {
		t.Fatal(err)
	}
	ref := readNpy(t, single)
	if !reflect.DeepEqual(merged.Shape, ref.Shape) || !reflect.DeepEqual(one.Shape, ref.Shape) || ref.Shape[0] != 20 {
		t.Fatalf("shapes: merged %v, single %v", merged.Shape, ref.Shape)
	}
	diff := 0
	for i, v := range ref.F32 {
		if math.Float32bits(v) != math.Float32bits(merged.Data[i]) {
			diff++
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d merged feature values differ from the single run's", diff, len(ref.F32))
	}
	if !reflect.DeepEqual(merged.Rows, one.Rows) || !reflect.DeepEqual(merged.Classes, []string{"ants", "bees"}) {
		t.Errorf("rows/classes differ:\n%+v\n%+v", merged.Rows, one.Rows)
	}
	if len(merged.Skipped) != 1 || !strings.HasSuffix(merged.Skipped[0].Path, "broken.jpg") {
		t.Errorf("skipped %+v", merged.Skipped)
	}
	labels := readNpy(t, filepath.Join(tmp, "single", "feat_labels.npy"))
	for i, l := range merged.Labels() {
		if int64(l) != labels.I64[i] {
			t.Fatalf("row %d: merged label %d, single %d", i, l, labels.I64[i])
		}
	}

	// A re-run shard replaces its files atomically and merges the same.
	stale := filepath.Join(shardDir, ".shard-00002-of-00003.npy.tmp999")
	os.WriteFile(stale, []byte("left by a killed run"), 0o600)
	if out, err := command(t, nil, append(common, "-shard", "2/3", "-o", shardDir, photos)...); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("stale temporary file kept")
	}
	again, err := shards.Merge(shardDir)
	if err != nil || !reflect.DeepEqual(again.Data, merged.Data) {
		t.Errorf("after re-run: %v", err)
	}
	// Another -batch is another setting: refused when mixed.
	if out, err := command(t, nil, "-weights", weightsFile, "-size", "48", "-pooling", "avg", "-batch", "5", "-shard", "0/3", "-o", shardDir, photos); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := shards.Merge(shardDir); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("mixed -batch: %v", err)
	}
	// Modes as cmd/finetune's outputs.
	for _, s := range []string{".npy", "_labels.npy", "_files.jsonl", "_classes.jsonl", "_manifest.json"} {
		st, err := os.Stat(strings.TrimSuffix(single, ".npy") + s)
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v %v, want mode 0644", s, err, st)
		}
	}
}

// TestNewlineInFileName: a file name holding a newline keeps one row per
// line of the file list, and the row's path is the name.
func TestNewlineInFileName(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(filepath.Join(data, "a"), 0o755)
	os.MkdirAll(filepath.Join(data, "b\nc"), 0o755)
	odd := filepath.Join(data, "a", "two\nlines.png")
	writeFixturePNGs(t, odd, filepath.Join(data, "b\nc", "x.png"))
	writeFixturePNGs(t, filepath.Join(data, "a", "z.png"))
	out := filepath.Join(dir, "f.npy")
	var log bytes.Buffer
	if err := run([]string{"-weights", weightsFile, "-size", "32", "-pooling", "max", "-o", out, data}, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "f_files.jsonl"))
	if n := strings.Count(string(b), "\n"); n != 3 {
		t.Errorf("%d lines for 3 rows:\n%s", n, b)
	}
	rows := readRows(t, filepath.Join(dir, "f_files.jsonl"))
	if len(rows) != 3 || rows[0].Path != odd || rows[2].Label != 1 {
		t.Errorf("rows %+v", rows)
	}
	f, err := shards.Merge(out)
	if err != nil || !reflect.DeepEqual(f.Classes, []string{"a", "b\nc"}) {
		t.Errorf("classes %q %v", f.Classes, err)
	}
}

// TestShardFlags: flag combinations are checked before any work.
func TestShardFlags(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.png")
	writeFixturePNGs(t, a)
	env := func(string) string { return "" }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-weights", weightsFile, "-shard", "1/3", "-o", "x.npy", dir}, "names a folder"},
		{[]string{"-weights", weightsFile, "-shard", "3/3", "-o", dir, dir}, "between 0 and N-1"},
		{[]string{"-weights", weightsFile, "-shard", "auto", "-o", dir, dir}, "JOB_COMPLETION_INDEX"},
		{[]string{"-weights", weightsFile, "-shard", "1/3", "-shards", "3", "-o", dir, dir}, "-shards goes with -shard auto"},
		{[]string{"-weights", weightsFile, "-shard", "0/2", "-o", dir, a}, "needs one folder"},
	} {
		err := runCtx(context.Background(), c.args, &bytes.Buffer{}, env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestEmptyShards: with more shards than files, the shards without a file
// write empty outputs, and the five merge into the single run's features.
func TestEmptyShards(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(filepath.Join(data, "a"), 0o755)
	os.MkdirAll(filepath.Join(data, "b"), 0o755)
	writeFixturePNGs(t, filepath.Join(data, "a", "1.png"), filepath.Join(data, "b", "2.png"))
	os.WriteFile(filepath.Join(data, "b", "3.png"), []byte("not a PNG"), 0o644) // shard 2/5: only a bad file
	common := []string{"-weights", weightsFile, "-size", "32", "-pooling", "avg"}
	single := filepath.Join(dir, "one.npy")
	if err := run(append(common, "-o", single, data), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "shards")
	for i := 0; i < 5; i++ {
		var log bytes.Buffer
		if err := run(append(common, "-shard", fmt.Sprintf("%d/5", i), "-o", out, data), &log); err != nil {
			t.Fatalf("shard %d/5: %v\n%s", i, err, log.String())
		}
	}
	got, err := shards.Merge(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := shards.Merge(single)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Data, want.Data) || !reflect.DeepEqual(got.Rows, want.Rows) || len(got.Rows) != 2 || len(got.Skipped) != 1 {
		t.Errorf("merged %v %+v skipped %+v, single %v %+v", got.Shape, got.Rows, got.Skipped, want.Shape, want.Rows)
	}
}
