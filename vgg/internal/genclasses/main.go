// Command genclasses writes vgg/imagenet_classes.txt, the 1000 ILSVRC-2012
// ImageNet classes in Keras's class-index order, from Debian's darknet package.
//
// Darknet ships data/imagenet.labels.list (WordNet synset ids, one per line)
// and data/imagenet.shortnames.list (the matching human-readable names). Their
// first 1000 lines are the ILSVRC-2012 classes in darknet's own order. Keras's
// imagenet_class_index.json numbers the same synsets by their ids sorted as
// strings, so sorting the first 1000 (id, name) pairs by id gives Keras's
// order: index 0 is n01440764 (tench), index 999 is n15075141 (toilet tissue).
//
// Usage (from the repository root, with `apt install darknet`):
//
//	go run ./vgg/internal/genclasses [-darknet /usr/share/darknet/data] [-o vgg/imagenet_classes.txt]
//
// Output: one line per class, "synset<TAB>name", 1000 lines.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	dir := flag.String("darknet", "/usr/share/darknet/data", "folder holding darknet's imagenet.labels.list and imagenet.shortnames.list")
	out := flag.String("o", "vgg/imagenet_classes.txt", "output file")
	flag.Parse()
	if err := run(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "genclasses:", err)
		os.Exit(1)
	}
}

// readLines returns the first n lines of path, without trailing spaces or CR.
func readLines(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for len(lines) < n && sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), " \r\t"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(lines) < n {
		return nil, fmt.Errorf("%s: only %d lines, need %d", path, len(lines), n)
	}
	return lines, nil
}

func run(dir, out string) error {
	ids, err := readLines(filepath.Join(dir, "imagenet.labels.list"), 1000)
	if err != nil {
		return err
	}
	names, err := readLines(filepath.Join(dir, "imagenet.shortnames.list"), 1000)
	if err != nil {
		return err
	}
	type class struct{ id, name string }
	classes := make([]class, 1000)
	seen := map[string]bool{}
	for i := range classes {
		id, name := ids[i], names[i]
		if len(id) != 9 || id[0] != 'n' || seen[id] {
			return fmt.Errorf("line %d: bad or repeated synset id %q", i+1, id)
		}
		if name == "" || strings.ContainsAny(name, "\t\n") {
			return fmt.Errorf("line %d: bad class name %q", i+1, name)
		}
		seen[id] = true
		classes[i] = class{id, name}
	}
	sort.Slice(classes, func(a, b int) bool { return classes[a].id < classes[b].id })
	var sb strings.Builder
	for _, c := range classes {
		fmt.Fprintf(&sb, "%s\t%s\n", c.id, c.name)
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, []byte(sb.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
