package shards

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// imageSuffixes are the accepted file-name endings, matched on the
// lower-cased whole name like Keras's fname.lower().endswith(...): Keras's
// list plus gif and webp. It is the dataset package's list (a test checks
// that List and dataset.FromDirectory agree).
var imageSuffixes = []string{"png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff", "gif", "webp"}

// IsImageName reports whether a file name ends with an accepted image
// extension (case-insensitive; png, jpg, jpeg, bmp, ppm, tif, tiff, gif,
// webp), the rule dataset.FromDirectory lists files by.
func IsImageName(name string) bool {
	l := strings.ToLower(name)
	for _, s := range imageSuffixes {
		if strings.HasSuffix(l, s) {
			return true
		}
	}
	return false
}

// Listing is a folder listed with Keras's flow_from_directory rules: the
// class folders in sorted order and every class's image files, walked
// recursively in Python's sorted(os.walk()) order. No file is opened:
// unreadable images are found when they are decoded.
type Listing struct {
	Root    string   // the folder given to List
	Classes []string // class folder names; a label indexes this
	Files   []string // full paths (Root joined with the relative path)
	Labels  []int    // class index of each file
}

// List lists dir/<class>/**/<image> like dataset.FromDirectory and Keras's
// flow_from_directory, without reading any file. A class folder that holds
// no image, or that cannot be read, is kept as a class with no files (as
// Keras's os.walk does) and reported on warn (nil: ignored); an unreadable
// folder inside a class is skipped with a warning. It is an error
// when dir is missing or has no class folder.
func List(dir string, warn io.Writer) (*Listing, error) {
	if warn == nil {
		warn = io.Discard
	}
	entries, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Listing{Root: dir}
	for _, e := range entries { // sorted by name, like sorted(os.listdir)
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
			l.Classes = append(l.Classes, e.Name())
		}
	}
	if len(l.Classes) == 0 {
		return nil, fmt.Errorf("%s has no class subfolders (want DIR/<class>/<image>)", dir)
	}
	for ci, c := range l.Classes {
		files, err := ListFolder(filepath.Join(dir, c), warn)
		if err != nil {
			fmt.Fprintf(warn, "Warning: skipping class folder %s: %v\n", filepath.Join(dir, c), err)
			continue
		}
		if len(files) == 0 {
			fmt.Fprintf(warn, "Warning: class folder %s holds no image; class %q is kept with no images\n", filepath.Join(dir, c), c)
		}
		for _, f := range files {
			l.Files = append(l.Files, f)
			l.Labels = append(l.Labels, ci)
		}
	}
	return l, nil
}

// readDir is os.ReadDir; tests replace it to make a folder unreadable
// even when running as root.
var readDir = os.ReadDir

// ListFolder walks dir recursively like Python's sorted(os.walk(dir),
// key=root) with each folder's file names sorted by byte value, and returns
// the paths of the files with an image extension (IsImageName). Symbolic
// links to folders are not followed (Keras's default follow_links=False).
// A subfolder that cannot be read is skipped with a warning line on warn
// (nil: ignored), as os.walk ignores it; it is an error only when dir
// itself cannot be read.
func ListFolder(dir string, warn io.Writer) ([]string, error) {
	if warn == nil {
		warn = io.Discard
	}
	type folder struct {
		root  string
		files []string
	}
	var all []folder
	var walk func(root string) error
	walk = func(root string) error {
		entries, err := readDir(root)
		if err != nil {
			if root == dir {
				return err
			}
			fmt.Fprintf(warn, "Warning: skipping unreadable folder %s: %v\n", root, err)
			return nil
		}
		f := folder{root: root}
		var subdirs []string
		for _, e := range entries {
			p := filepath.Join(root, e.Name())
			switch {
			case e.IsDir():
				subdirs = append(subdirs, p)
			case e.Type()&os.ModeSymlink != 0:
				if fi, err := os.Stat(p); err == nil && fi.IsDir() {
					continue // a link to a folder: not followed
				}
				f.files = append(f.files, e.Name())
			default:
				f.files = append(f.files, e.Name())
			}
		}
		all = append(all, f)
		for _, s := range subdirs {
			if err := walk(s); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(dir); err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].root < all[j].root })
	var out []string
	for _, f := range all {
		sort.Strings(f.files)
		for _, name := range f.files {
			if IsImageName(name) {
				out = append(out, filepath.Join(f.root, name))
			}
		}
	}
	return out, nil
}

// Fingerprint identifies the listing independently of where the folder is
// mounted: "sha256:" and the hex SHA-256 of, in listing order, each class
// name as 'c', its byte length (uvarint) and its bytes, then each file as
// 'f', its label (uvarint), the byte length of its path relative to Root
// (with '/' separators) and those bytes. Length prefixes make it
// unambiguous for any byte in a name. Two machines that see the same names
// get the same fingerprint; contents, sizes and times are not part of it.
func (l *Listing) Fingerprint() string {
	h := sha256.New()
	var buf []byte
	put := func(tag byte, vals []uint64, s string) {
		buf = append(buf[:0], tag)
		for _, v := range vals {
			buf = binary.AppendUvarint(buf, v)
		}
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		h.Write(buf)
		io.WriteString(h, s)
	}
	for _, c := range l.Classes {
		put('c', nil, c)
	}
	for i, f := range l.Files {
		rel, err := filepath.Rel(l.Root, f)
		if err != nil {
			rel = f
		}
		put('f', []uint64{uint64(l.Labels[i])}, filepath.ToSlash(rel))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
