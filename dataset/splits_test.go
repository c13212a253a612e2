package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func hasWarning(ws []string, parts ...string) bool {
	for _, w := range ws {
		ok := strings.HasPrefix(w, "Warning: ")
		for _, p := range parts {
			ok = ok && strings.Contains(w, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func TestFindSplits(t *testing.T) {
	for _, val := range []string{"validation", "val", "valid"} {
		root := t.TempDir()
		mkdirs(t, root, "train/ants", "train/bees", val+"/ants", val+"/bees")
		s, ws, err := FindSplits(root, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := Splits{Dir: root, Train: filepath.Join(root, "train"), Validation: filepath.Join(root, val)}
		if !reflect.DeepEqual(s, want) || len(ws) != 0 {
			t.Errorf("%s: %+v, warnings %q", val, s, ws)
		}
	}

	// train/ + val/ + test/ + a hidden folder: test/ is named as ignored.
	root := t.TempDir()
	mkdirs(t, root, "train/a", "train/b", "val/a", "val/c", "test/a", ".cache")
	s, ws, err := FindSplits(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Validation != filepath.Join(root, "val") || !reflect.DeepEqual(s.Ignored, []string{filepath.Join(root, "test")}) {
		t.Errorf("%+v", s)
	}
	if !hasWarning(ws, "NOT used", filepath.Join(root, "test")) ||
		!hasWarning(ws, filepath.Join(root, "val", "c"), "NOT used") ||
		!hasWarning(ws, "b have no folder in "+filepath.Join(root, "val")) {
		t.Errorf("warnings %q", ws)
	}

	// train/ alone: loud warning, unless a validation split is set.
	root = t.TempDir()
	mkdirs(t, root, "train/a", "train/b")
	s, ws, _ = FindSplits(root, 0)
	if s.Train != filepath.Join(root, "train") || s.Validation != "" || !hasWarning(ws, "NO VALIDATION DATA", root) {
		t.Errorf("train only: %+v %q", s, ws)
	}
	if _, ws, _ = FindSplits(root, 0.2); len(ws) != 0 {
		t.Errorf("train only with a split: %q", ws)
	}

	// Class folders directly: Train is the folder itself.
	root = t.TempDir()
	mkdirs(t, root, "cats", "dogs")
	s, ws, _ = FindSplits(root, 0)
	if s.Train != root || s.Validation != "" || !hasWarning(ws, "NO VALIDATION DATA") || hasWarning(ws, "look like split folders") {
		t.Errorf("class root: %+v %q", s, ws)
	}
	if _, ws, _ = FindSplits(root, 0.25); len(ws) != 0 {
		t.Errorf("class root with a split: %q", ws)
	}

	// Unrecognised split names would become classes: named loudly.
	root = t.TempDir()
	mkdirs(t, root, "Train/a", "testing/a")
	s, ws, _ = FindSplits(root, 0.2)
	if s.Train != root || !hasWarning(ws, "not recognised", filepath.Join(root, "Train"), filepath.Join(root, "testing"), "CLASSES") {
		t.Errorf("unrecognised: %+v %q", s, ws)
	}

	// Errors: two validation folders, validation without train, missing dir.
	root = t.TempDir()
	mkdirs(t, root, "train/a", "val/a", "validation/a")
	if _, _, err := FindSplits(root, 0); err == nil || !strings.Contains(err.Error(), "several validation folders") {
		t.Errorf("two validation folders: %v", err)
	}
	root = t.TempDir()
	mkdirs(t, root, "val/a", "other")
	if _, _, err := FindSplits(root, 0); err == nil || !strings.Contains(err.Error(), filepath.Join(root, "train")) {
		t.Errorf("validation without train: %v", err)
	}
	if _, _, err := FindSplits(filepath.Join(root, "missing"), 0); err == nil {
		t.Error("missing folder: no error")
	}
}

// TestFindSplitsHymenoptera runs FindSplits on the shared real dataset.
func TestFindSplitsHymenoptera(t *testing.T) {
	dir := filepath.Join(sharedDatasets(t), "hymenoptera")
	s, ws, err := FindSplits(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Train != filepath.Join(dir, "train") || s.Validation == "" || len(ws) != 0 {
		t.Errorf("%+v %q", s, ws)
	}
}
