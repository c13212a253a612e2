package shards

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gotransfer/gotransfer/dataset"
)

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

// List lists dir/<class>/**/<image> with dataset.FromDirectory's own
// listing (dataset.ClassFolders, then ListFolder per class), as Keras's
// flow_from_directory does, without reading any file. A class folder that holds
// no image, or that cannot be read, is kept as a class with no files (as
// Keras's os.walk does) and reported on warn (nil: ignored); an unreadable
// folder inside a class is skipped with a warning. It is an error
// when dir is missing or has no class folder.
func List(dir string, warn io.Writer) (*Listing, error) {
	if warn == nil {
		warn = io.Discard
	}
	classes, err := dataset.ClassFolders(dir)
	if err != nil {
		return nil, err
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("%s has no class subfolders (want DIR/<class>/<image>)", dir)
	}
	l := &Listing{Root: dir, Classes: classes}
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

// ListFolder lists the image files under dir exactly as dataset.FromDirectory
// lists one class folder (dataset.ListImageFiles): walked recursively like
// Python's sorted(os.walk(dir), key=root) with each folder's file names
// sorted by byte value, keeping the names with an image extension (png,
// jpg, jpeg, bmp, ppm, tif, tiff, gif, webp, any case).
// Symbolic links to folders are not followed (Keras's default
// follow_links=False). A subfolder that cannot be read is skipped with a
// warning line on warn (nil: ignored), as os.walk ignores it; it is an
// error only when dir itself cannot be read.
func ListFolder(dir string, warn io.Writer) ([]string, error) {
	if warn == nil {
		warn = io.Discard
	}
	var rootErr error
	files := dataset.ListImageFiles(dir, dataset.ListOptions{ReadDir: readDir, Unreadable: func(folder string, err error) {
		if folder == dir {
			rootErr = err
			return
		}
		fmt.Fprintf(warn, "Warning: skipping unreadable folder %s: %v\n", folder, err)
	}})
	if rootErr != nil {
		return nil, rootErr
	}
	return files, nil
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
