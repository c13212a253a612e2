package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gotransfer/gotransfer/internal/shards"
	"github.com/gotransfer/gotransfer/internal/train"
	"github.com/gotransfer/gotransfer/nn"
	"github.com/gotransfer/gotransfer/tensor"
)

// extracted are one run's rows: the features of every decoded image of the
// requested listing positions, in position order, and the files skipped.
type extracted struct {
	feats   []float32
	rows    []shards.Row
	skipped []shards.Skipped
}

// loadBatch decodes paths the way training reads images (dataset package:
// content-detected format, RGB, bilinear resize to size×size, caffe
// preprocessing) and returns one (len(paths), size, size, 3) tensor whose
// row i is paths[i] when ok[i], zeros otherwise; bad maps failed paths to a
// reason.
func loadBatch(ctx context.Context, size int, paths []string) (*tensor.Tensor, []bool, map[string]string, error) {
	spec := &train.Spec{InputShape: [3]int{size, size, 3},
		Preprocessing: train.Preprocessing{Mode: "caffe", Interpolation: "bilinear"}}
	x := tensor.New(len(paths), size, size, 3)
	ok := make([]bool, len(paths))
	got, kept, bad, err := train.LoadImages(ctx, spec, paths)
	if err != nil && len(kept) == 0 {
		if ctx.Err() != nil {
			return nil, nil, nil, ctx.Err()
		}
		if len(bad) == 0 { // not a per-file failure
			return nil, nil, nil, err
		}
		return x, ok, bad, nil
	}
	// kept lists the readable paths in argument order; match them up.
	per := size * size * 3
	k := 0
	for i, p := range paths {
		if _, failed := bad[p]; failed || k >= len(kept) || kept[k] != p {
			continue
		}
		copy(x.Data[i*per:(i+1)*per], got.Data[k*per:(k+1)*per])
		ok[i] = true
		k++
	}
	return x, ok, bad, nil
}

// extract runs the listing's files at positions through m, o.batch images
// per forward pass. Every pass has exactly o.batch rows (unreadable images
// and the end of the list are zero rows whose outputs are dropped), so a
// row's features do not depend on which other images share its pass or on
// how the listing was sharded.
func extract(ctx context.Context, m *nn.Model, o options, l *shards.Listing, positions []int, stderr io.Writer) (*extracted, error) {
	res := &extracted{}
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
		x, ok, bad, err := loadBatch(ctx, o.size, paths[:len(chunk)])
		if err != nil {
			return nil, err
		}
		padded := tensor.New(o.batch, o.size, o.size, 3)
		copy(padded.Data, x.Data)
		var rows []int
		for i, p := range chunk {
			if ok[i] {
				rows = append(rows, i)
				continue
			}
			reason := bad[paths[i]]
			if reason == "" {
				reason = "not a readable image"
			}
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
