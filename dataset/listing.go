package dataset

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// whiteList holds the accepted filename endings, matched case-insensitively
// on the whole name like Keras's fname.lower().endswith(...) (so there is no
// dot: "xpng" matches too). Keras's list plus gif and webp.
var whiteList = []string{"png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff", "gif", "webp"}

// readDir lists a folder inside a class folder for FromDirectory. It is a
// variable so that tests can make a folder unreadable even when running as
// root.
var readDir = os.ReadDir

// hasImageExtension reports whether a file name ends with one of the
// extensions of whiteList, compared on the lower-cased whole name.
func hasImageExtension(name string) bool {
	l := strings.ToLower(name)
	for _, ext := range whiteList {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}

// ClassFolders returns the names of dir's subfolders (symbolic links to
// folders included) sorted by byte value: the classes FromDirectory infers
// when Options.Classes is empty, as Keras's sorted(os.listdir(directory))
// keeping the folders. A folder without subfolders gives an empty list, not
// an error; an unreadable dir is an error.
func ClassFolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var classes []string
	for _, e := range entries { // os.ReadDir sorts by name, like sorted(os.listdir)
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
			classes = append(classes, e.Name())
		}
	}
	return classes, nil
}

// ListOptions controls ListImageFiles.
type ListOptions struct {
	// FollowLinks descends into symbolic links to folders (Keras's
	// follow_links); by default such links are neither walked nor listed.
	// A link loop is walked once.
	FollowLinks bool
	// Unreadable is called with each folder that cannot be read, dir itself
	// included; the folder contributes no file, as Python's os.walk ignores
	// it. Nil ignores unreadable folders silently.
	Unreadable func(folder string, err error)
	// ReadDir reads one folder's entries sorted by name; nil means
	// os.ReadDir. A replacement can present another view of the file
	// system, e.g. a test's unreadable folder when running as root.
	ReadDir func(folder string) ([]os.DirEntry, error)
}

// ListImageFiles lists the image files under dir exactly as FromDirectory
// lists one class folder: dir is walked like Python's sorted(os.walk(dir,
// followlinks), key=root), each folder's file names are sorted by byte
// value, and the names that end with png, jpg, jpeg, bmp, ppm, tif, tiff,
// gif or webp in any case (Keras's fname.lower().endswith(...): no dot, so
// "xpng" counts too) are returned joined to their folder (so the paths
// start with dir). No file is opened.
func ListImageFiles(dir string, opt ListOptions) []string {
	read := opt.ReadDir
	if read == nil {
		read = os.ReadDir
	}
	type dirFiles struct {
		root  string
		files []string
	}
	var all []dirFiles
	visited := map[string]bool{}
	var walk func(root string)
	walk = func(root string) {
		if opt.FollowLinks { // guard against symlink loops
			real, err := filepath.EvalSymlinks(root)
			if err == nil {
				if visited[real] {
					return
				}
				visited[real] = true
			}
		}
		entries, err := read(root)
		if err != nil {
			if opt.Unreadable != nil {
				opt.Unreadable(root, err)
			}
			return
		}
		df := dirFiles{root: root}
		var subdirs []string
		for _, e := range entries {
			p := filepath.Join(root, e.Name())
			isDir := e.IsDir()
			isLink := e.Type()&os.ModeSymlink != 0
			if isLink {
				if fi, err := os.Stat(p); err == nil && fi.IsDir() {
					isDir = true
				}
			}
			switch {
			case isDir && (!isLink || opt.FollowLinks):
				subdirs = append(subdirs, p)
			case isDir: // a link to a directory that we do not follow
			default:
				df.files = append(df.files, e.Name())
			}
		}
		all = append(all, df)
		for _, s := range subdirs {
			walk(s)
		}
	}
	walk(dir)
	sort.SliceStable(all, func(i, j int) bool { return all[i].root < all[j].root })
	var out []string
	for _, df := range all {
		sort.Strings(df.files)
		for _, f := range df.files {
			if hasImageExtension(f) {
				out = append(out, filepath.Join(df.root, f))
			}
		}
	}
	return out
}
