package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/gotransfer/gotransfer/tensor"
)

// LoadImage decodes and resizes one image file exactly as the pipeline
// does for a file of a Directory built with the same opt: same decoder,
// EXIF handling (opt.ExifOrientation), colour conversion (opt.ColorMode),
// load-time resize (opt.TargetSize, opt.Interpolation), then
// opt.Preprocess and opt.Augment.Rescale. No random augmentation is
// applied (a prediction-time generator). It returns a (1, H, W, C) float32
// NHWC tensor, values on the 0..255 scale unless Preprocess or Rescale
// changed them.
//
// The file goes through the same checks as in a Directory: PIL's
// decompression-bomb rule (a warning line to opt.Log above MaxImagePixels,
// an error above twice that) and the shared decode-memory budget
// (opt.DecodeMemoryBudget), whose reservation LoadImage waits for. Errors
// name the file. opt.Log nil means os.Stderr here (not os.Stdout, so
// that predictions written to stdout stay clean).
func LoadImage(path string, opt Options) (*tensor.Tensor, error) {
	return LoadImageContext(context.Background(), path, opt)
}

// LoadImageContext is LoadImage with a context that ends the wait for the
// decode-memory budget.
func LoadImageContext(ctx context.Context, path string, opt Options) (*tensor.Tensor, error) {
	if opt.Log == nil {
		opt.Log = os.Stderr
	}
	r, err := resolveOptions(opt)
	if err != nil {
		return nil, err
	}
	p, _, warning, err := r.spec().decodeFile(ctx, path)
	if warning != "" {
		fmt.Fprintf(r.Log, "Warning: %s: %s\n", path, warning)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", path, err)
	}
	x := tensor.New(1, r.height, r.width, r.channels)
	finishImage(x.Data, p.pix, r, nil)
	return x, nil
}

// FromFiles builds an unlabelled dataset from an explicit list of image
// files, kept in the given order (for prediction and feature extraction
// on arbitrary files). Every file is checked as in FromDirectory: unusable
// files are skipped with a warning and listed by Skipped. opt.ClassMode
// must be "" or "none" and opt.Classes, ValidationSplit and Subset unset;
// batches have Y nil and Labels of −1. It prints
// "Found N images." to opt.Log. It is an error when no file is usable.
func FromFiles(paths []string, opt Options) (*Directory, error) {
	if opt.ClassMode == "" {
		opt.ClassMode = "none"
	}
	if opt.ClassMode != "none" || len(opt.Classes) > 0 || opt.Subset != "" || opt.ValidationSplit != 0 {
		return nil, fmt.Errorf("dataset: FromFiles gives unlabelled data: ClassMode must be \"none\" (got %q) and Classes, Subset and ValidationSplit unset", opt.ClassMode)
	}
	r, err := resolveOptions(opt)
	if err != nil {
		return nil, err
	}
	d := &Directory{opt: r, bad: map[int]string{}}
	cands := make([]candidate, len(paths))
	for i, p := range paths {
		cands[i] = candidate{p, -1}
	}
	d.admitFiles(cands)
	if len(d.files) == 0 {
		return nil, fmt.Errorf("dataset: none of the %d file(s) is a usable image", len(paths))
	}
	fmt.Fprintf(r.Log, "Found %d images.\n", len(d.files))
	d.printSkipSummary()
	return d, nil
}

// finishImage turns resized 8-bit pixels into the float32 image the model
// sees, in Keras's order: the random transform t when non-nil (affine
// resampling, channel shift, flips, brightness), then Preprocess, then
// Augment.Rescale.
func finishImage(dst []float32, pix []uint8, r *resolved, t *Transform) {
	h, w, c := r.height, r.width, r.channels
	if t != nil {
		warp(dst, pix, h, w, c, *t, r.fill, r.Augment.Cval)
		applyColourShifts(dst, c, *t)
	} else {
		for i, v := range pix {
			dst[i] = float32(v)
		}
	}
	if r.Preprocess != nil {
		r.Preprocess(dst, h, w, c)
	}
	if a := r.Augment; a != nil && a.Rescale != 0 {
		for i := range dst {
			dst[i] *= a.Rescale
		}
	}
}

// decodeFile is the one way from an image file to resized 8-bit pixels,
// shared by the pipeline and LoadImage: read the header, apply PIL's pixel
// rule and the budget rule, wait for the file's decode memory, read and
// decode the whole file, convert and resize, and return the memory. It
// also returns the bytes read and a large-image warning.
func (s loadSpec) decodeFile(ctx context.Context, path string) (p pixels, n int64, warning string, err error) {
	f, head, size, err := readHead(path)
	if err != nil {
		return pixels{}, 0, "", err
	}
	defer f.Close()
	info, err := inspect(head, f, size)
	if err != nil {
		return pixels{}, int64(len(head)), "", err
	}
	need, warning, err := s.admit(info)
	if err != nil {
		return pixels{}, int64(len(head)), "", err
	}
	if err := s.budget.acquire(ctx, need); err != nil {
		return pixels{}, int64(len(head)), "", err
	}
	p, err = s.readDecode(f, head, info)
	s.budget.release(need, true) // the file's bytes and the full-size image are garbage now
	return p, size, warning, err
}

// readDecode reads the rest of the file after head and decodes it. Its
// buffers die when it returns, before decodeFile releases the budget.
func (s loadSpec) readDecode(f io.Reader, head []byte, info headerInfo) (pixels, error) {
	b := make([]byte, info.size)
	copy(b, head)
	if _, err := io.ReadFull(f, b[len(head):]); err != nil {
		return pixels{}, fmt.Errorf("reading: %v (did the file change?)", err)
	}
	return s.decodeChecked(b, info)
}

// decodeChecked decodes whole-file bytes b whose header was admitted as
// info; a header that no longer matches (the file changed after its header
// was read) is refused rather than decoded at an unreserved size.
func (s loadSpec) decodeChecked(b []byte, info headerInfo) (pixels, error) {
	if f := sniff(b); f != info.format {
		return pixels{}, fmt.Errorf("file changed while being read (%v, was %v)", f, info.format)
	}
	if cfg, err := decodeConfig(b); err == nil && (cfg.Width != info.cfg.Width || cfg.Height != info.cfg.Height) {
		return pixels{}, fmt.Errorf("file changed while being read (%dx%d, was %dx%d)", cfg.Width, cfg.Height, info.cfg.Width, info.cfg.Height)
	}
	return decodeResize(b, s.channels, s.exif, s.w, s.h, s.method)
}

// decodeData is decodeFile for a whole file already in memory (fuzz
// targets and tests): same checks, same budget.
func (s loadSpec) decodeData(ctx context.Context, b []byte) (pixels, string, error) {
	info, err := inspect(b[:min(len(b), headerBytes)], bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return pixels{}, "", err
	}
	need, warning, err := s.admit(info)
	if err != nil {
		return pixels{}, "", err
	}
	if err := s.budget.acquire(ctx, need); err != nil {
		return pixels{}, "", err
	}
	defer s.budget.release(need, true)
	p, err := s.decodeChecked(b, info)
	return p, warning, err
}
