package shards

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/gotransfer/gotransfer/dataset"
	"github.com/gotransfer/gotransfer/tensor"
)

// Loader decodes image files exactly as the training pipeline does
// (dataset.LoadImage with Options: decoder, colour conversion, load-time
// resize, Preprocess), several at a time.
type Loader struct {
	// Options are the pipeline's options for these images (TargetSize,
	// Interpolation, Preprocess, …); random augmentation is never applied.
	Options dataset.Options
	// Workers is the number of files decoded at once; 0 means GOMAXPROCS.
	Workers int
}

// Load decodes paths[i] into row i of dst, a (≥ len(paths), H, W, C)
// tensor matching Options (TargetSize and channels), and returns one error
// per path: nil for a decoded image, else an error naming the file (its
// row is then zero). It stops early when ctx is cancelled, returning
// ctx.Err() for the files it did not decode.
func (l Loader) Load(ctx context.Context, paths []string, dst *tensor.Tensor) []error {
	errs := make([]error, len(paths))
	if len(paths) == 0 {
		return errs
	}
	if dst.Shape[0] < len(paths) {
		panic(fmt.Sprintf("shards.Loader: %d paths for a batch of %d", len(paths), dst.Shape[0]))
	}
	per := dst.Size() / dst.Shape[0]
	workers := l.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(paths)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				x, err := dataset.LoadImageContext(ctx, paths[i], l.Options)
				switch {
				case err != nil:
					errs[i] = err
				case x.Size() != per:
					errs[i] = fmt.Errorf("%s: decoded to %v, want %v", paths[i], x.Shape, dst.Shape[1:])
				default:
					copy(dst.Data[i*per:(i+1)*per], x.Data)
				}
			}
		}()
	}
	for i := range paths {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			clear(dst.Data[i*per : (i+1)*per])
		}
	}
	return errs
}

// Reason is a load error without the "dataset: PATH: " prefix that
// dataset.LoadImage puts before the cause, for lines that already name the
// file ("Warning: skipping PATH: REASON").
func Reason(err error, path string) string {
	return strings.TrimPrefix(err.Error(), "dataset: "+path+": ")
}

// LoadReadable decodes paths (Load) into one (len(paths), H, W, C) batch,
// moves the readable images to the front, and returns them as a batch
// (nil when none is readable), their paths, and the reason (Reason) each
// other file failed, by path.
func (l Loader) LoadReadable(ctx context.Context, paths []string) (*tensor.Tensor, []string, map[string]string) {
	bad := map[string]string{}
	if len(paths) == 0 {
		return nil, nil, bad
	}
	h, w := l.Options.TargetSize[0], l.Options.TargetSize[1]
	if h == 0 || w == 0 {
		h, w = 256, 256 // dataset's default TargetSize
	}
	c := 3
	if l.Options.ColorMode == "grayscale" {
		c = 1
	}
	all := tensor.New(len(paths), h, w, c)
	errs := l.Load(ctx, paths, all)
	per := h * w * c
	var kept []string
	for i, err := range errs {
		if err != nil {
			bad[paths[i]] = Reason(err, paths[i])
			continue
		}
		copy(all.Data[len(kept)*per:], all.Data[i*per:(i+1)*per])
		kept = append(kept, paths[i])
	}
	if len(kept) == 0 {
		return nil, nil, bad
	}
	return all.Batch(0, len(kept)), kept, bad
}
