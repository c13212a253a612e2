// Command h5write-sample writes a small Keras-legacy-layout HDF5 file with our
// writer, plus a JSON expectation describing it, so that an independent reader
// (testdata/check_h5py.py, run with h5py) can check that h5py reads our files.
//
// Usage: go run ./internal/hdf5/cmd/h5write-sample OUT.h5 OUT.json
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/gotransfer/gotransfer/internal/hdf5"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: h5write-sample OUT.h5 OUT.json")
		os.Exit(2)
	}
	w, expect := hdf5.SampleKerasFile()
	if err := w.WriteFile(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	js, err := json.MarshalIndent(expect, "", " ")
	if err == nil {
		err = os.WriteFile(os.Args[2], append(js, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
