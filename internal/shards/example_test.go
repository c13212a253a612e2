package shards_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gotransfer/gotransfer/internal/shards"
)

// Two shards of a 5-file listing are written (as two cmd/features
// processes would) and merged back into listing order.
func ExampleMerge() {
	dir, _ := os.MkdirTemp("", "shards-example")
	defer os.RemoveAll(dir)
	files := []string{"ants/1.jpg", "ants/2.jpg", "bees/1.jpg", "bees/2.jpg", "bees/3.jpg"}
	labels := []int{0, 0, 1, 1, 1}
	for i := 0; i < 2; i++ {
		sh := shards.Shard{Index: i, Count: 2}
		o := shards.Output{
			Base:    filepath.Join(dir, sh.Base()),
			Classes: []string{"ants", "bees"},
			Manifest: shards.Manifest{Shard: i, Shards: 2,
				Listing:  shards.ListingInfo{Fingerprint: "sha256:example", Files: len(files), Classes: 2},
				Settings: shards.Settings{Model: "vgg16", Width: 1, InputSize: [2]int{224, 224}, Precision: "fp32", Pooling: "avg", Batch: 16}},
		}
		for _, p := range sh.Positions(len(files)) { // 0, 2, 4 and 1, 3
			o.Rows = append(o.Rows, shards.Row{Index: p, Path: files[p], Label: labels[p]})
			o.Features = append(o.Features, float32(p), float32(10*p)) // 2 features per row
		}
		o.Shape = []int{len(o.Rows), 2}
		if err := shards.Begin(o.Base); err != nil {
			panic(err)
		}
		if err := shards.Write(o); err != nil {
			panic(err)
		}
	}
	f, err := shards.Merge(dir)
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Shape, f.Classes)
	for r, row := range f.Rows {
		fmt.Println(row.Path, row.Label, f.Data[2*r:2*r+2])
	}
	// Output:
	// [5 2] [ants bees]
	// ants/1.jpg 0 [0 0]
	// ants/2.jpg 0 [1 10]
	// bees/1.jpg 1 [2 20]
	// bees/2.jpg 1 [3 30]
	// bees/3.jpg 1 [4 40]
}
