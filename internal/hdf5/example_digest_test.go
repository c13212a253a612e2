package hdf5_test

import (
	"fmt"

	"github.com/gotransfer/gotransfer/internal/hdf5"
)

// KerasDigest of a weights file; the expected output is the digest
// testdata/gen_mutations.py computed from h5py's reading of the same file
// (mutations.json, "bases").
func ExampleKerasDigest() {
	f, err := hdf5.Open("../../vgg/testdata/vgg16_notop_w16_keras3.h5")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	digest, n, err := hdf5.KerasDigest(f)
	fmt.Println(digest, n, err)
	// Output: 2086fd6dc003b947f99a993ce5dd13da1bb83c96df49d6cc22993eb1c7e906a0 26 <nil>
}
