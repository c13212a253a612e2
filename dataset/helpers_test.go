package dataset

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// sharedDatasets returns ../shared/datasets relative to the module root
// (this package sits one level below it), or skips the test.
func sharedDatasets(tb testing.TB) string {
	tb.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "shared", "datasets"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared datasets not found at %s (the real-photo tests need ../shared next to the repository): %v", p, err)
	}
	return p
}

// collect reads one whole epoch.
func collect(tb testing.TB, d *Directory, epoch int) []*Batch {
	tb.Helper()
	it := d.Epoch(context.Background(), epoch)
	defer it.Close()
	var out []*Batch
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
}
