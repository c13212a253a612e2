package dataset

import (
	"container/list"
	"context"
	"fmt"
	"runtime"
	"sync"
)

// DefaultDecodeMemoryBudget is the decode-memory budget used when
// Options.DecodeMemoryBudget is 0: 1 GiB, in bytes.
const DefaultDecodeMemoryBudget int64 = 1 << 30

// MaxImagePixels is PIL's Image.MAX_IMAGE_PIXELS (Pillow 9.4): an image of
// more than MaxImagePixels pixels (width·height) is decoded with a warning
// naming it, and one of more than 2·MaxImagePixels is refused (skipped and
// named), as PIL's DecompressionBombWarning / DecompressionBombError.
const MaxImagePixels = 89478485

// decodeBudget is a weighted semaphore over bytes of decode memory. Requests
// are served first come, first served: a large request that waits is not
// overtaken by later small ones, so a huge image cannot starve.
type decodeBudget struct {
	size int64

	mu      sync.Mutex
	used    int64
	waiters list.List // of *budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed when the bytes are granted
}

// budgets holds one decodeBudget per budget size, so that every Directory
// and LoadImage call with the same Options.DecodeMemoryBudget (by default
// all of them) draws from one process-wide pool: a training and a
// validation set decoding at the same time share it.
var (
	budgetsMu sync.Mutex
	budgets   = map[int64]*decodeBudget{}
)

// budgetFor returns the shared budget for an Options.DecodeMemoryBudget
// value: 0 means DefaultDecodeMemoryBudget, a negative value means no
// limit (nil).
func budgetFor(size int64) *decodeBudget {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = DefaultDecodeMemoryBudget
	}
	budgetsMu.Lock()
	defer budgetsMu.Unlock()
	b := budgets[size]
	if b == nil {
		b = &decodeBudget{size: size}
		budgets[size] = b
	}
	return b
}

// acquire blocks until n bytes are free (or ctx ends). n must not exceed
// the budget's size; callers refuse such images beforehand.
func (b *decodeBudget) acquire(ctx context.Context, n int64) error {
	if b == nil || n <= 0 {
		return nil
	}
	if n > b.size {
		return fmt.Errorf("needs %s to decode, more than the whole decode-memory budget of %s", mib(n), mib(b.size))
	}
	b.mu.Lock()
	if b.size-b.used >= n && b.waiters.Len() == 0 {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	elem := b.waiters.PushBack(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted just as ctx ended: give it back
			b.mu.Unlock()
			b.release(n, false)
		default:
			front := b.waiters.Front() == elem
			b.waiters.Remove(elem)
			if front { // waiters behind us may fit now
				b.grantLocked()
			}
			b.mu.Unlock()
		}
		return ctx.Err()
	}
}

// bigRelease is the reservation size from which release first runs a
// garbage collection: the decoded image it covered is garbage by then, and
// without a collection the next big decode would be allocated beside it
// rather than in its place (the heap goal after decoding one huge image is
// about twice that image). Justified by peak RSS of cmd/finetune -workers 4
// on the hymenoptera photos plus four 7000×7000 interlaced 16-bit PNGs
// (testdata/genbigpng -interlace; image/png decodes those whole), with and
// without this collection; ordinary photos (up to ~25 Mpx) stay below the
// threshold and never pay for it.
const bigRelease = 256 << 20

// release returns n bytes. With collect, a big reservation is first
// followed by a garbage collection (see bigRelease).
func (b *decodeBudget) release(n int64, collect bool) {
	if b == nil || n <= 0 {
		return
	}
	if collect && n >= min(bigRelease, b.size/4) {
		runtime.GC()
	}
	b.mu.Lock()
	b.used -= n
	b.grantLocked()
	b.mu.Unlock()
}

// grantLocked wakes waiters in order while they fit.
func (b *decodeBudget) grantLocked() {
	for {
		e := b.waiters.Front()
		if e == nil {
			return
		}
		w := e.Value.(*budgetWaiter)
		if b.size-b.used < w.n {
			return
		}
		b.used += w.n
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// mib formats a byte count in MiB for messages.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
