package dataset

import (
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/gotransfer/gotransfer/tensor"
)

// Batch is one batch of images and labels.
type Batch struct {
	// X holds the images, shape (N, H, W, C), float32, NHWC. Values are on
	// the 0..255 scale unless Augment.Rescale or Preprocess changed them.
	X *tensor.Tensor
	// Labels holds each image's class index.
	Labels []int
	// Y is the target: one-hot (N, K) for "categorical", (N, 1) of 0/1 for
	// "binary", nil for "sparse" and "none".
	Y *tensor.Tensor
	// Indices are the images' positions in Directory.Files (or IDXSet).
	Indices []int
	// Files are the images' full paths (nil for IDX batches).
	Files []string
}

// Iterator delivers one epoch's batches in order. Create it with
// Directory.Epoch; call Next until io.EOF, then Close.
type Iterator struct {
	d      *Directory
	epoch  int
	ctx    context.Context
	cancel context.CancelFunc
	plan   [][]int       // sample indices per batch
	ready  []chan *Batch // one per batch, buffered 1
	slots  chan struct{} // prefetch bound
	next   int
	wg     sync.WaitGroup
	done   int
	bytes  atomic.Int64
	closed bool
}

// EpochOrder returns the sample order of an epoch: 0..Len−1, permuted by a
// generator seeded from (Seed, epoch) when Shuffle is set.
func (d *Directory) EpochOrder(epoch int) []int {
	return epochOrder(len(d.files), d.opt.Shuffle, d.opt.Seed, epoch)
}

// epochOrder is 0…n−1, in ShuffledOrder(n, seed, epoch) when shuffle is set.
func epochOrder(n int, shuffle bool, seed uint64, epoch int) []int {
	if shuffle {
		return ShuffledOrder(n, seed, epoch)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

// ShuffledOrder returns 0…n−1 permuted by a PCG generator seeded from
// (seed, epoch): the sample order of epoch epoch of a Directory (or an
// IDXSet's batches) of n samples with Shuffle set and Seed seed. Code that
// must visit other data in a Directory's order (cmd/finetune's feature
// shards) calls it rather than re-deriving the generator.
func ShuffledOrder(n int, seed uint64, epoch int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, mix64(uint64(epoch)^0x5eed5eed)))
	rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// sampleRNG is the augmentation generator of one sample: it depends only on
// (seed, epoch, sample index), so results do not depend on scheduling.
func sampleRNG(seed uint64, epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(mix64(seed^0xa0761d6478bd642f), mix64(uint64(epoch)<<32^uint64(index)^0xe7037ed1a0b428db)))
}

// mix64 is splitmix64's finaliser.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Epoch starts loading epoch number epoch (any integer; it seeds the shuffle
// and the augmentation). Workers decode, resize and augment samples in
// parallel; at most Prefetch whole batches are prepared ahead of Next.
// Batches are identical for a given Seed and epoch whatever Workers is.
// A file that fails to decode is left out of its batch (the batch is one
// shorter), reported once, listed by Skipped, and left out of later
// epochs too; labels always stay with their images.
func (d *Directory) Epoch(ctx context.Context, epoch int) *Iterator {
	return d.EpochFrom(ctx, epoch, 0)
}

// EpochFrom is Epoch resumed at batch startStep (0-based): the first Next
// returns exactly the batch an uninterrupted epoch would deliver as step
// startStep, without loading the batches before it (augmentation draws
// depend only on Seed, epoch and file index). Files in the skipped batches
// are not decoded, so their decode errors are not discovered.
func (d *Directory) EpochFrom(ctx context.Context, epoch, startStep int) *Iterator {
	ctx, cancel := context.WithCancel(ctx)
	order := d.EpochOrder(epoch)
	bs := d.opt.BatchSize
	it := &Iterator{d: d, epoch: epoch, ctx: ctx, cancel: cancel, slots: make(chan struct{}, d.opt.Prefetch)}
	for s := max(startStep, 0) * bs; s < len(order); s += bs {
		it.plan = append(it.plan, order[s:min(s+bs, len(order))])
		it.ready = append(it.ready, make(chan *Batch, 1))
	}
	it.done = min(max(startStep, 0)*bs, len(order))
	type job struct {
		batch, slot int
	}
	jobs := make(chan job, 4*d.opt.Workers)
	// Dispatcher: one batch at a time, blocked by the prefetch bound.
	it.wg.Add(1)
	go func() {
		defer it.wg.Done()
		defer close(jobs)
		for b := range it.plan {
			select {
			case it.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			for s := range it.plan[b] {
				select {
				case jobs <- job{b, s}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	// Batch buffers and completion counters, created lazily per batch.
	h, w, c := d.opt.height, d.opt.width, d.opt.channels
	per := h * w * c
	xs := make([]*tensor.Tensor, len(it.plan))
	okFlags := make([][]bool, len(it.plan))
	left := make([]atomic.Int32, len(it.plan))
	for b := range it.plan {
		left[b].Store(int32(len(it.plan[b])))
	}
	var allocMu sync.Mutex
	buffer := func(b int) (*tensor.Tensor, []bool) {
		allocMu.Lock()
		defer allocMu.Unlock()
		if xs[b] == nil {
			xs[b] = tensor.New(len(it.plan[b]), h, w, c)
			okFlags[b] = make([]bool, len(it.plan[b]))
		}
		return xs[b], okFlags[b]
	}
	for wk := 0; wk < d.opt.Workers; wk++ {
		it.wg.Add(1)
		go func() {
			defer it.wg.Done()
			for jb := range jobs {
				if ctx.Err() != nil {
					continue // cancelled: drain the queue without work
				}
				x, oks := buffer(jb.batch)
				idx := it.plan[jb.batch][jb.slot]
				dst := x.Data[jb.slot*per : (jb.slot+1)*per]
				oks[jb.slot] = d.loadInto(ctx, dst, idx, epoch, &it.bytes)
				if left[jb.batch].Add(-1) == 0 {
					allocMu.Lock()
					xb, okb := xs[jb.batch], okFlags[jb.batch]
					xs[jb.batch], okFlags[jb.batch] = nil, nil
					allocMu.Unlock()
					it.ready[jb.batch] <- d.finishBatch(xb, okb, it.plan[jb.batch])
				}
			}
		}()
	}
	return it
}

// Next returns the next batch in order, io.EOF after the last one, or the
// context's error once it is cancelled.
func (it *Iterator) Next() (*Batch, error) {
	if it.next >= len(it.plan) {
		return nil, io.EOF
	}
	select {
	case b := <-it.ready[it.next]:
		it.next++
		<-it.slots
		it.done += len(b.Labels)
		if p := it.d.opt.Progress; p != nil {
			p(ProgressEvent{Phase: "epoch", Epoch: it.epoch, Done: it.done, Total: len(it.d.files), Bytes: it.bytes.Load()})
		}
		return b, nil
	case <-it.ctx.Done():
		return nil, it.ctx.Err()
	}
}

// Close stops the workers and waits for them. It is safe to call twice.
func (it *Iterator) Close() {
	if it.closed {
		return
	}
	it.closed = true
	it.cancel()
	// Each ready channel has room for its one batch, so no worker blocks.
	it.wg.Wait()
}

// Steps is the number of batches this iterator delivers (fewer than
// Directory.Steps when started with EpochFrom).
func (it *Iterator) Steps() int { return len(it.plan) }

// finishBatch drops failed samples and builds the labels.
func (d *Directory) finishBatch(x *tensor.Tensor, ok []bool, idx []int) *Batch {
	h, w, c := d.opt.height, d.opt.width, d.opt.channels
	per := h * w * c
	n := 0
	b := &Batch{}
	for s, good := range ok {
		if !good {
			continue
		}
		if n != s {
			copy(x.Data[n*per:(n+1)*per], x.Data[s*per:(s+1)*per])
		}
		n++
		b.Indices = append(b.Indices, idx[s])
		b.Labels = append(b.Labels, d.labels[idx[s]])
		b.Files = append(b.Files, d.files[idx[s]])
	}
	b.X = tensor.FromData(x.Data[:n*per], n, h, w, c)
	b.Y = makeTargets(d.opt.ClassMode, b.Labels, len(d.classes))
	return b
}

func makeTargets(mode string, labels []int, k int) *tensor.Tensor {
	switch mode {
	case "categorical":
		y := tensor.New(len(labels), k)
		for i, l := range labels {
			y.Data[i*k+l] = 1
		}
		return y
	case "binary":
		y := tensor.New(len(labels), 1)
		for i, l := range labels {
			y.Data[i] = float32(l)
		}
		return y
	}
	return nil
}

// loadInto fills dst (H·W·C floats) with sample idx: cached or decoded
// pixels, then augmentation, Preprocess and Rescale (finishImage). It
// reports false, and marks the file bad, when the file cannot be decoded;
// it reports false without marking when ctx ended while waiting for the
// decode-memory budget.
func (d *Directory) loadInto(ctx context.Context, dst []float32, idx, epoch int, bytes *atomic.Int64) bool {
	if d.isBad(idx) {
		return false
	}
	pix := d.cache[idx].Load()
	if pix == nil {
		p, n, _, err := d.opt.spec().decodeFile(ctx, d.files[idx])
		bytes.Add(n)
		if err != nil {
			if ctx.Err() == nil {
				d.markBad(idx, err.Error())
			}
			return false
		}
		pix = &p.pix
		if d.opt.Cache {
			d.cache[idx].Store(pix)
		}
	}
	var t *Transform
	if a := d.opt.Augment; a != nil {
		s := a.Sample(sampleRNG(d.opt.Seed, epoch, idx), d.opt.height, d.opt.width)
		t = &s
	}
	finishImage(dst, *pix, d.opt, t)
	return true
}

// decodeResize decodes, converts and resizes file bytes b. Non-interlaced
// PNGs are streamed row by row (pngResize); otherwise nearest resizing
// without EXIF rotation converts only the pixels it keeps.
func decodeResize(b []byte, channels int, exif bool, w, h int, method string) (pixels, error) {
	if sniff(b) == formatPNG && !pngInterlaced(b) {
		return pngResize(b, channels, w, h, method)
	}
	return decodeResizeWhole(b, channels, exif, w, h, method)
}

// decodeResizeWhole is decodeResize through a whole decoded image.
func decodeResizeWhole(b []byte, channels int, exif bool, w, h int, method string) (pixels, error) {
	if method == "nearest" && !(exif && sniff(b) == formatJPEG && exifOrientation(b) != 1) {
		img, err := decodeImage(b)
		if err != nil {
			return pixels{}, err
		}
		return sampleNearest(img, sniff(b), w, h, channels), nil
	}
	p, err := decodeToPixels(b, channels, exif)
	if err != nil {
		return pixels{}, err
	}
	return resizeImage(p, w, h, method), nil
}

// decodeToPixels decodes file bytes into 8-bit RGB (channels 3) or L
// (channels 1), optionally applying the EXIF orientation of JPEGs.
func decodeToPixels(b []byte, channels int, exif bool) (pixels, error) {
	img, err := decodeImage(b)
	if err != nil {
		return pixels{}, err
	}
	var p pixels
	if channels == 1 {
		p = toGrayAs(img, sniff(b))
	} else {
		p = toRGBAs(img, sniff(b))
	}
	if exif && sniff(b) == formatJPEG {
		p = orient(p, exifOrientation(b))
	}
	return p, nil
}
