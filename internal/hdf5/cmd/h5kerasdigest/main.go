// Command h5kerasdigest prints, for each Keras legacy weights file given,
// hdf5.KerasDigest of its weights and their count ("DIGEST N PATH"), or
// "error: ..." when the reader refuses the file. The hostile-file check
// (testdata/hostile_check.sh) compares it with h5py's digest from
// testdata/gen_mutations.py.
//
// Usage: go run ./internal/hdf5/cmd/h5kerasdigest FILE.h5...
package main

import (
	"fmt"
	"os"

	"github.com/gotransfer/gotransfer/internal/hdf5"
)

func main() {
	status := 0
	for _, p := range os.Args[1:] {
		d, n, err := digest(p)
		if err != nil {
			fmt.Printf("error: %v\n", err)
			status = 1
			continue
		}
		fmt.Printf("%s %d %s\n", d, n, p)
	}
	os.Exit(status)
}

func digest(path string) (string, int, error) {
	f, err := hdf5.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hdf5.KerasDigest(f)
}
