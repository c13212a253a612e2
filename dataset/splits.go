package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Splits is the layout of a data folder found by FindSplits.
type Splits struct {
	// Dir is the data folder FindSplits was given.
	Dir string
	// Train is the folder whose subfolders are the training classes:
	// Dir/train, or Dir itself when Dir has no split folders.
	Train string
	// Validation is the validation folder (Dir/validation, Dir/val or
	// Dir/valid), or "" when there is none.
	Validation string
	// Ignored lists the subfolders of Dir that are neither Train nor
	// Validation when Dir has split folders (a test/ folder, say); their
	// images are not used.
	Ignored []string
}

// trainName and validationNames are the split folders FindSplits
// recognises: Keras's tutorials use train/ + validation/, torchvision's
// (and the hymenoptera set) train/ + val/, some datasets valid/.
var (
	trainName       = "train"
	validationNames = []string{"validation", "val", "valid"}
)

// splitLike reports whether a folder name looks like a split folder that
// FindSplits does not recognise (so it would silently become a class).
func splitLike(name string) bool {
	l := strings.ToLower(name)
	switch l {
	case "train", "training", "trainset", "train_set", "validation", "val", "valid", "validate",
		"validation_set", "val_set", "valset", "dev", "eval", "evaluation", "test", "testing",
		"test_set", "testset", "holdout":
		return true
	}
	return false
}

// FindSplits recognises the layout of a data folder:
//
//   - Dir/train/<class>/... with Dir/validation/, Dir/val/ or Dir/valid/
//     beside it (exact, lower-case names): Train and Validation are set;
//     other subfolders of Dir are listed in Ignored, with a warning;
//   - Dir/train/ alone: Validation is "", with a warning;
//   - otherwise Dir/<class>/...: Train is Dir and Validation "".
//
// It returns warnings, one line each, that a caller should print: split
// folders that are not recognised (say Train/, training/ or test/ used as
// a class), no validation data (unless validationSplit > 0, meaning the
// caller splits Train with Keras's validation_split), and class folders
// present in only one of Train and Validation. It is an error when Dir is
// not a readable folder, when several validation folders exist, or when a
// validation folder exists without train/.
func FindSplits(dir string, validationSplit float64) (Splits, []string, error) {
	s := Splits{Dir: dir}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return s, nil, fmt.Errorf("dataset: data folder: %w", err)
	}
	var subdirs []string
	for _, e := range entries {
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
			subdirs = append(subdirs, e.Name())
		}
	}
	has := map[string]bool{}
	for _, n := range subdirs {
		has[n] = true
	}
	var vals []string
	for _, v := range validationNames {
		if has[v] {
			vals = append(vals, v)
		}
	}
	var warnings []string
	warn := func(format string, args ...any) {
		warnings = append(warnings, "Warning: "+fmt.Sprintf(format, args...))
	}
	switch {
	case len(vals) > 1:
		return s, nil, fmt.Errorf("dataset: %s has several validation folders (%s): keep one", dir, joinDirs(dir, vals))
	case !has[trainName] && len(vals) == 1:
		return s, nil, fmt.Errorf("dataset: %s has a validation folder %s but no %s folder beside it",
			dir, filepath.Join(dir, vals[0]), filepath.Join(dir, trainName))
	case has[trainName]:
		s.Train = filepath.Join(dir, trainName)
		if len(vals) == 1 {
			s.Validation = filepath.Join(dir, vals[0])
		}
		for _, n := range subdirs {
			if n != trainName && (len(vals) == 0 || n != vals[0]) && !strings.HasPrefix(n, ".") {
				s.Ignored = append(s.Ignored, filepath.Join(dir, n))
			}
		}
		if len(s.Ignored) > 0 {
			warn("%s has split folders; these other folders are NOT used: %s (recognised: train/ with validation/, val/ or valid/)",
				dir, strings.Join(s.Ignored, ", "))
		}
		if s.Validation == "" && validationSplit <= 0 {
			warn("NO VALIDATION DATA: %s has no validation/, val/ or valid/ folder beside %s; the model is checked on training data only",
				dir, s.Train)
		}
		if s.Validation != "" {
			warnings = append(warnings, classMismatch(s.Train, s.Validation)...)
		}
	default:
		s.Train = dir
		var odd []string
		for _, n := range subdirs {
			if splitLike(n) {
				odd = append(odd, n)
			}
		}
		if len(odd) > 0 {
			warn("%s: folder(s) %s look like split folders but are not recognised (recognised: train/ with validation/, val/ or valid/); they are used as CLASSES",
				dir, joinDirs(dir, odd))
		}
		if validationSplit <= 0 {
			warn("NO VALIDATION DATA: %s has no train/ + validation/ (or val/, valid/) folders and no validation split is set; the model is checked on training data only", dir)
		}
	}
	return s, warnings, nil
}

// classMismatch warns about class folders present in only one of the
// training and validation folders (validation uses the training classes).
func classMismatch(train, val string) []string {
	list := func(d string) map[string]bool {
		m := map[string]bool{}
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if fi, err := os.Stat(filepath.Join(d, e.Name())); err == nil && fi.IsDir() {
				m[e.Name()] = true
			}
		}
		return m
	}
	tc, vc := list(train), list(val)
	var onlyT, onlyV []string
	for c := range tc {
		if !vc[c] {
			onlyT = append(onlyT, c)
		}
	}
	for c := range vc {
		if !tc[c] {
			onlyV = append(onlyV, c)
		}
	}
	sort.Strings(onlyT)
	sort.Strings(onlyV)
	var w []string
	if len(onlyV) > 0 {
		w = append(w, fmt.Sprintf("Warning: validation class folder(s) %s have no training folder in %s: their images are NOT used", joinDirs(val, onlyV), train))
	}
	if len(onlyT) > 0 {
		w = append(w, fmt.Sprintf("Warning: class(es) %s have no folder in %s: no validation images for them", strings.Join(onlyT, ", "), val))
	}
	return w
}

func joinDirs(dir string, names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n) + string(filepath.Separator)
	}
	return strings.Join(out, ", ")
}
