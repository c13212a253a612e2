package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/internal/shards"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
	"github.com/gotransfer/gotransfer/vgg"
)

// extracted are one run's rows: the features of every decoded image of the
// requested listing positions, in position order, and the files skipped.
type extracted struct {
	feats   []float32
	rows    []shards.Row
	skipped []shards.Skipped
}

// extract runs the listing's files at positions through m, o.batch images
// per forward pass. Every pass has exactly o.batch rows (unreadable images
// and the end of the list are zero rows whose outputs are dropped), so a
// row's features do not depend on which other images share its pass or on
// how the listing was sharded.
func extract(ctx context.Context, m *nn.Model, o options, l *shards.Listing, positions []int, stderr io.Writer) (*extracted, error) {
	res := &extracted{}
	loader := shards.Loader{Options: dataset.Options{
		TargetSize:    [2]int{o.size, o.size},
		Interpolation: "bilinear",
		Preprocess:    vgg.PreprocessHook,
		Log:           stderr,
	}}
	start, last := time.Now(), time.Now()
	done := 0
	for lo := 0; lo < len(positions); lo += o.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := positions[lo:min(lo+o.batch, len(positions))]
		paths := make([]string, o.batch)
		for i, p := range chunk {
			paths[i] = l.Files[p]
		}
		padded := tensor.New(o.batch, o.size, o.size, 3)
		errs := loader.Load(ctx, paths[:len(chunk)], padded)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var rows []int
		for i, p := range chunk {
			if errs[i] == nil {
				rows = append(rows, i)
				continue
			}
			reason := shards.Reason(errs[i], paths[i])
			fmt.Fprintf(stderr, "Warning: skipping %s: %s\n", l.Files[p], reason)
			res.skipped = append(res.skipped, shards.Skipped{Index: p, Path: l.Files[p], Reason: reason})
		}
		if len(rows) > 0 {
			y := m.Forward(padded, false)
			per := len(y.Data) / o.batch
			for _, i := range rows {
				res.feats = append(res.feats, y.Data[i*per:(i+1)*per]...)
				res.rows = append(res.rows, shards.Row{Index: chunk[i], Path: l.Files[chunk[i]], Label: rowLabel(l, chunk[i])})
			}
		}
		done += len(chunk)
		if time.Since(last) > 2*time.Second || done == len(positions) {
			last = time.Now()
			fmt.Fprintf(stderr, "features: %d/%d images, %.1f images/s\n", done, len(positions), float64(done)/time.Since(start).Seconds())
		}
	}
	return res, nil
}

// rowLabel is the class of listing position p (−1 for file input).
func rowLabel(l *shards.Listing, p int) int {
	if l.Classes == nil {
		return -1
	}
	return l.Labels[p]
}
