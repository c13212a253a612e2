package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/train"
)

// runRecord is what cmd/finetune keeps in its checkpoint (Checkpoint.Extra,
// JSON): the flags given, so `-resume` alone continues with them, and a
// fingerprint of the data and the base weights, so a resume on changed
// inputs is refused.
type runRecord struct {
	Flags   map[string]string         `json:"flags"`             // explicit flags as typed
	Data    map[string]*splitManifest `json:"data,omitempty"`    // "train", "validation"
	Weights *fileStamp                `json:"weights,omitempty"` // the base weights file
}

// splitManifest lists one split: its folder, classes and files.
type splitManifest struct {
	Dir     string      `json:"dir"`
	Classes []string    `json:"classes"`
	Files   []fileStamp `json:"files"` // paths relative to Dir, sorted
}

// fileStamp identifies a file's content cheaply: size and modification time.
type fileStamp struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
}

// stamp returns path's size and modification time (under name).
func stamp(path, name string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{Path: name, Size: st.Size(), ModTime: st.ModTime().UnixNano()}, nil
}

// manifestOf lists d's classes and files with their stamps.
func manifestOf(d *dataset.Directory, dir string) (*splitManifest, error) {
	m := &splitManifest{Dir: dir, Classes: d.ClassNames()}
	for _, f := range d.Files() {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			rel = f
		}
		s, err := stamp(f, rel)
		if err != nil {
			return nil, fmt.Errorf("fingerprinting the data: %w", err)
		}
		m.Files = append(m.Files, s)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	return m, nil
}

// compareData returns nil when now equals was, else an error naming the
// classes and files added, removed or changed in each split.
func compareData(was, now map[string]*splitManifest) error {
	var diffs []string
	names := map[string]bool{}
	for n := range was {
		names[n] = true
	}
	for n := range now {
		names[n] = true
	}
	var splits []string
	for n := range names {
		splits = append(splits, n)
	}
	sort.Strings(splits)
	for _, n := range splits {
		a, b := was[n], now[n]
		switch {
		case a == nil:
			diffs = append(diffs, fmt.Sprintf("%s split added (%s)", n, b.Dir))
			continue
		case b == nil:
			diffs = append(diffs, fmt.Sprintf("%s split removed (was %s)", n, a.Dir))
			continue
		}
		if added, removed := setDiff(a.Classes, b.Classes); len(added)+len(removed) > 0 {
			diffs = append(diffs, fmt.Sprintf("%s classes%s%s", n, listed(" added", added), listed(" removed", removed)))
		}
		old := map[string]fileStamp{}
		for _, f := range a.Files {
			old[f.Path] = f
		}
		var added, changed []string
		for _, f := range b.Files {
			o, ok := old[f.Path]
			switch {
			case !ok:
				added = append(added, f.Path)
			case o != f:
				changed = append(changed, f.Path)
			}
			delete(old, f.Path)
		}
		var removed []string
		for p := range old {
			removed = append(removed, p)
		}
		sort.Strings(removed)
		if len(added)+len(removed)+len(changed) > 0 {
			diffs = append(diffs, fmt.Sprintf("%s files in %s:%s%s%s", n, b.Dir,
				listed(" added", added), listed(" removed", removed), listed(" changed (size or modification time)", changed)))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("the data changed since the checkpoint was written, so the run cannot continue exactly: %s (restore the data, or start afresh without -resume)", strings.Join(diffs, "; "))
}

// setDiff returns the elements of b not in a and of a not in b.
func setDiff(a, b []string) (added, removed []string) {
	in := func(s []string, x string) bool {
		for _, v := range s {
			if v == x {
				return true
			}
		}
		return false
	}
	for _, x := range b {
		if !in(a, x) {
			added = append(added, x)
		}
	}
	for _, x := range a {
		if !in(b, x) {
			removed = append(removed, x)
		}
	}
	return added, removed
}

// listed formats " label: a, b, c (+N more)" or "" for an empty list.
func listed(label string, items []string) string {
	if len(items) == 0 {
		return ""
	}
	const show = 8
	s := label + ": " + strings.Join(items[:min(show, len(items))], ", ")
	if len(items) > show {
		s += fmt.Sprintf(" (+%d more)", len(items)-show)
	}
	return s
}

// outputNames are the files a run writes in -out.
var outputNames = []string{train.WeightsName, train.SpecName, bestModelName, "history.csv", "history.png", train.CheckpointName}

// previousDir is where a fresh run moves the outputs of the run before it.
const previousDir = "previous-run"

// bestModelName is the save_best_only checkpoint inside -out.
const bestModelName = "best_model.h5"

// removeStaleTemps deletes the temporary files that train.WriteAtomic
// leaves behind when a process dies mid-write (".model.h5.tmp123").
func removeStaleTemps(dir string, log io.Writer) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil // no folder yet: nothing stale
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp") && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("-out: removing stale temporary file: %w", err)
			}
			fmt.Fprintf(log, "Removed stale temporary file %s (left by an interrupted write)\n", filepath.Join(dir, n))
		}
	}
	return nil
}

// moveAsideOutputs prepares dir for a fresh run: the outputs of an earlier
// run found there are moved into dir/previous-run/ (replacing an older
// one), so that the folder never holds files of two runs, even after a
// crash of the new one.
func moveAsideOutputs(dir string, log io.Writer) error {
	var found []string
	for _, n := range outputNames {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		return nil
	}
	prev := filepath.Join(dir, previousDir)
	if err := os.RemoveAll(prev); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	if err := os.Mkdir(prev, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}
	for _, n := range found {
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(prev, n)); err != nil {
			return fmt.Errorf("-out: moving the previous run's %s aside: %w", n, err)
		}
	}
	fmt.Fprintf(log, "Moved the previous run's outputs (%s) to %s\n", strings.Join(found, ", "), prev)
	return nil
}

// encodeRecord and decodeRecord store a runRecord in Checkpoint.Extra.
func encodeRecord(r *runRecord) []byte {
	b, _ := json.Marshal(r)
	return b
}

func decodeRecord(b []byte) (*runRecord, error) {
	var r runRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Flags == nil {
		return nil, fmt.Errorf("the checkpoint holds no flags of this command (written by another program?)")
	}
	return &r, nil
}
