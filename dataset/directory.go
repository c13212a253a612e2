package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Directory is an image-folder dataset: one subfolder per class, read the way
// Keras's flow_from_directory reads it. Build it with FromDirectory and read
// batches with Epoch.
type Directory struct {
	opt     *resolved
	root    string
	classes []string
	files   []string // full paths of usable files, in Keras order
	labels  []int    // class index per file
	sizes   []int64  // file size in bytes per file

	mu      sync.Mutex
	skipped []SkippedFile  // build-time and mid-epoch skips, in discovery order
	bad     map[int]string // file index → reason, for files that failed a full decode
	cache   []atomic.Pointer[[]uint8]
}

// FromDirectory lists dir's class folders and image files with Keras's
// flow_from_directory rules, checks every file's header, prints
// "Found N images belonging to K classes." to opt.Log and returns the
// dataset. Files whose header cannot be read, that break PIL's
// decompression-bomb limit or that cannot fit the decode-memory budget are
// skipped with a warning and listed by Skipped. A class folder that is
// empty, unreadable or missing (when named in opt.Classes) stays a class
// with no images, with a warning naming it, as in Keras. It is an error
// when dir is missing, has no class folder, or has no usable image at all.
func FromDirectory(dir string, opt Options) (*Directory, error) {
	r, err := resolveOptions(opt)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("dataset: %s is not a directory", dir)
	}
	classes := append([]string(nil), r.Classes...)
	if len(classes) == 0 {
		classes, err = ClassFolders(dir)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		if len(classes) == 0 {
			return nil, fmt.Errorf("dataset: %s has no class subfolders", dir)
		}
	}
	if r.ClassMode == "binary" && len(classes) != 2 {
		return nil, fmt.Errorf("dataset: ClassMode binary needs exactly 2 classes, %s has %d", dir, len(classes))
	}
	d := &Directory{opt: r, root: dir, classes: classes, bad: map[int]string{}}

	// List every class's files (Keras order), apply the split per class.
	// Like Keras's os.walk, a folder that cannot be read yields no files:
	// the class stays (its label index is unchanged) and is named.
	var cands []candidate
	for ci, c := range classes {
		cdir := filepath.Join(dir, c)
		if fi, err := os.Stat(cdir); err != nil || !fi.IsDir() {
			if err == nil {
				err = fmt.Errorf("not a directory")
			}
			d.warnf("Warning: class %q: cannot use %s (%v); it is kept as a class with no images", c, cdir, err)
			continue
		}
		files := ListImageFiles(cdir, ListOptions{FollowLinks: r.FollowLinks, ReadDir: readDir, Unreadable: func(sub string, err error) {
			if sub == cdir {
				d.warnf("Warning: class %q: cannot read class folder %s (%v); it is kept as a class with no images", c, cdir, err)
			} else {
				d.warnf("Warning: class %q: skipping unreadable folder %s (%v)", c, sub, err)
			}
		}})
		if r.Subset != "" {
			n := len(files)
			start, stop := 0, int(r.ValidationSplit*float64(n))
			if r.Subset == "training" {
				start, stop = int(r.ValidationSplit*float64(n)), n
			}
			files = files[start:stop]
		}
		for _, f := range files {
			cands = append(cands, candidate{f, ci})
		}
	}
	d.admitFiles(cands)
	perClass := make([]int, len(classes))
	for _, l := range d.labels {
		perClass[l]++
	}
	for ci, n := range perClass {
		if n == 0 {
			d.warnf("Warning: class %q (%s) has no usable image; it is kept as a class with no images, as Keras does", classes[ci], filepath.Join(dir, classes[ci]))
		}
	}
	if len(d.files) == 0 {
		return nil, fmt.Errorf("dataset: %s has no usable image in its %d class folder(s)", dir, len(classes))
	}
	fmt.Fprintf(r.Log, "Found %d images belonging to %d classes.\n", len(d.files), len(classes))
	d.printSkipSummary()
	return d, nil
}

// candidate is a listed file and its label (−1 without classes).
type candidate struct {
	path  string
	label int
}

// admitFiles checks the candidates' headers in parallel (PIL's pixel
// limits and the decode budget included) and keeps the usable ones in
// order; the others are skipped with a warning.
func (d *Directory) admitFiles(cands []candidate) {
	r := d.opt
	spec := r.spec()
	type check struct {
		size    int64
		warning string
		err     error
	}
	checks := make([]check, len(cands))
	var next, done atomic.Int64
	var bytes atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < r.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cands) {
					return
				}
				info, warning, err := spec.inspectFile(cands[i].path)
				checks[i] = check{info.size, warning, err}
				bytes.Add(min(info.size, headerBytes))
				done.Add(1)
			}
		}()
	}
	if r.Progress != nil { // report the scan every 200 ms from this goroutine
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		tick := time.NewTicker(200 * time.Millisecond)
	wait:
		for {
			select {
			case <-finished:
				break wait
			case <-tick.C:
				r.Progress(ProgressEvent{Phase: "scan", Done: int(done.Load()), Total: len(cands), Bytes: bytes.Load()})
			}
		}
		tick.Stop()
	}
	wg.Wait()
	if r.Progress != nil {
		r.Progress(ProgressEvent{Phase: "scan", Done: len(cands), Total: len(cands), Bytes: bytes.Load()})
	}
	for i, c := range cands {
		if checks[i].err != nil {
			d.warnSkip(c.path, checks[i].err.Error())
			continue
		}
		if checks[i].warning != "" {
			d.warnf("Warning: %s: %s", c.path, checks[i].warning)
		}
		d.files = append(d.files, c.path)
		d.labels = append(d.labels, c.label)
		d.sizes = append(d.sizes, checks[i].size)
	}
	d.cache = make([]atomic.Pointer[[]uint8], len(d.files))
}

// warnf prints one warning line to the log.
func (d *Directory) warnf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.opt.Log, format+"\n", args...)
}

// warnSkip records a skipped file and prints one warning line.
func (d *Directory) warnSkip(path, reason string) {
	d.mu.Lock()
	d.skipped = append(d.skipped, SkippedFile{Path: path, Reason: reason})
	d.mu.Unlock()
	fmt.Fprintf(d.opt.Log, "Warning: skipping %s: %s\n", path, reason)
}

func (d *Directory) printSkipSummary() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.skipped) == 0 {
		return
	}
	names := make([]string, len(d.skipped))
	for i, s := range d.skipped {
		names[i] = s.Path
	}
	fmt.Fprintf(d.opt.Log, "Skipped %d file(s) (unreadable, corrupt or too large): %s\n", len(d.skipped), strings.Join(names, ", "))
}

// markBad records that file i failed a full decode (mid-epoch). The file is
// left out of this and every later batch; one warning is printed.
func (d *Directory) markBad(i int, reason string) {
	d.mu.Lock()
	if _, ok := d.bad[i]; ok {
		d.mu.Unlock()
		return
	}
	d.bad[i] = reason
	d.mu.Unlock()
	d.warnSkip(d.files[i], reason)
}

func (d *Directory) isBad(i int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.bad[i]
	return ok
}

// Len is the number of files that passed the build-time header check.
func (d *Directory) Len() int { return len(d.files) }

// ClassNames lists the class folder names; a label is an index into it.
func (d *Directory) ClassNames() []string { return append([]string(nil), d.classes...) }

// Files lists the full paths of the files that passed the header check, in
// Keras's order (classes in order, each class's files sorted recursively).
func (d *Directory) Files() []string { return append([]string(nil), d.files...) }

// Labels gives the class index of each file in Files.
func (d *Directory) Labels() []int { return append([]int(nil), d.labels...) }

// Skipped lists every file left out so far, at build time or mid-epoch,
// with the reason.
func (d *Directory) Skipped() []SkippedFile {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]SkippedFile(nil), d.skipped...)
}

// Steps is the number of batches per epoch: ceil(Len / BatchSize).
func (d *Directory) Steps() int { return (len(d.files) + d.opt.BatchSize - 1) / d.opt.BatchSize }

// BatchSize is the resolved batch size.
func (d *Directory) BatchSize() int { return d.opt.BatchSize }

// ImageShape is (height, width, channels) of every image in a batch.
func (d *Directory) ImageShape() [3]int { return [3]int{d.opt.height, d.opt.width, d.opt.channels} }

// NumClasses is len(ClassNames()).
func (d *Directory) NumClasses() int { return len(d.classes) }
