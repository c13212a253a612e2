package dataset

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
)

// Options configures FromDirectory. The zero value of every field means the
// Keras default of flow_from_directory / ImageDataGenerator where one exists.
type Options struct {
	// TargetSize is the (height, width) every image is resized to at load
	// time, before augmentation. Zero means Keras's default (256, 256).
	TargetSize [2]int
	// ColorMode is "rgb" (3 channels, default) or "grayscale" (1 channel).
	ColorMode string
	// ClassMode is "categorical" (default; Y is one-hot (N, K)), "binary"
	// (Y is (N, 1) holding 0 or 1; needs exactly 2 classes), "sparse" or
	// "none" (Y is nil; Batch.Labels still holds the class indices).
	ClassMode string
	// BatchSize is the number of images per batch; 0 means 32. The last
	// batch of an epoch may be smaller.
	BatchSize int
	// Shuffle reorders the samples every epoch with a permutation drawn from
	// (Seed, epoch). Keras's default is true; set it explicitly.
	Shuffle bool
	// Seed drives shuffling and augmentation. Same Seed → same batches.
	Seed uint64
	// Interpolation used for the load-time resize: "nearest" (default, as
	// Keras), "bilinear" or "bicubic". All three reproduce PIL's resize.
	Interpolation string
	// FollowLinks descends into symbolic links to directories.
	FollowLinks bool
	// ValidationSplit in (0, 1) with Subset "training" or "validation"
	// selects Keras's split: validation takes files [0, int(n·v)) of each
	// class's sorted list, training takes [int(n·v), n).
	ValidationSplit float64
	// Subset is "", "training" or "validation".
	Subset string
	// Classes, when non-empty, lists the class folders (and their label
	// order) instead of the sorted subdirectories.
	Classes []string
	// Workers is the number of decoding/augmenting goroutines;
	// 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Prefetch bounds how many whole batches are prepared ahead of the
	// consumer; 0 means Workers+1.
	Prefetch int
	// Cache keeps every decoded, resized image (uint8, H·W·C bytes) in
	// memory after its first load, so later epochs skip decoding.
	Cache bool
	// Augment, when non-nil, applies ImageDataGenerator's random transforms
	// and its Rescale. Nil means no augmentation and no rescaling.
	Augment *Augment
	// Preprocess, when non-nil, runs on each image after augmentation and
	// before Augment.Rescale (Keras's preprocessing_function order). img is
	// one (h, w, c) float32 image, modified in place.
	Preprocess func(img []float32, h, w, c int)
	// Log receives "Found N images belonging to K classes.", the per-file
	// warnings and the skipped-file summary. Nil means os.Stdout.
	Log io.Writer
	// Progress, when non-nil, is called from the caller's goroutine: every
	// 200 ms and once at the end of FromDirectory's header scan, and by
	// Iterator.Next after each batch. It must be quick.
	Progress func(ProgressEvent)
	// ExifOrientation rotates/flips JPEGs by their EXIF Orientation tag.
	// Off by default, since Keras (PIL's Image.open) ignores it.
	ExifOrientation bool
	// DecodeMemoryBudget bounds, in bytes, the memory that images being
	// decoded may hold at once, summed over all workers: each file's need
	// (its bytes, the decoder's image and buffers, the full-size colour
	// conversion and the resize; for non-interlaced PNGs, which are
	// decoded row by row, only rows) is estimated from its header before
	// decoding and reserved until the image is resized. An image whose
	// need exceeds the whole budget is skipped and named. 0 means
	// DefaultDecodeMemoryBudget (1 GiB); a negative value means no limit.
	// Every Directory and LoadImage call with the same value shares one
	// process-wide budget, so a training and a validation set together
	// stay within it.
	DecodeMemoryBudget int64
}

// Augment holds ImageDataGenerator's random-transform parameters. Ranges are
// symmetric: a value r draws uniformly from [-r, r].
type Augment struct {
	// Rescale multiplies every value after augmentation and Preprocess
	// (Keras: rescale=1./255). 0 means no rescaling.
	Rescale float32
	// RotationRange in degrees.
	RotationRange float64
	// WidthShiftRange and HeightShiftRange: below 1 a fraction of the image
	// width/height, from 1 up a number of pixels (drawn as a float).
	WidthShiftRange, HeightShiftRange float64
	// ShearRange in degrees (Keras's 0.2 means 0.2°).
	ShearRange float64
	// ZoomRange z draws zx and zy independently from [1−z, 1+z]. It is
	// ignored when ZoomRangeXY is set.
	ZoomRange float64
	// ZoomRangeXY, when not {0, 0}, is the explicit [lower, upper] zoom range
	// (Keras's zoom_range=[lo, hi]).
	ZoomRangeXY [2]float64
	// HorizontalFlip and VerticalFlip each flip with probability 0.5.
	HorizontalFlip, VerticalFlip bool
	// FillMode for points outside the image: "nearest" (default),
	// "constant", "reflect" or "wrap" (scipy.ndimage semantics).
	FillMode string
	// Cval is the fill value for FillMode "constant" (0..255 scale).
	Cval float32
	// ChannelShiftRange r draws one intensity from [−r, r] per image and
	// adds it to every channel, then clips to the image's own minimum and
	// maximum (over all channels), after the affine transform (Keras's
	// channel_shift_range and apply_channel_shift). 0..255 scale.
	ChannelShiftRange float64
	// BrightnessRange, when not {0, 0}, draws a factor from [lo, hi) per
	// image and applies PIL's ImageEnhance.Brightness to the image
	// truncated to uint8, as Keras's brightness_range does (last step of
	// the transform, after the flips): v ← trunc(float32(factor)·trunc(v)),
	// clipped to 0..255. A factor of 1 still truncates fractional values
	// left by the affine resampling, as in Keras.
	BrightnessRange [2]float64
}

// ProgressEvent reports progress to Options.Progress.
type ProgressEvent struct {
	// Phase is "scan" while FromDirectory checks file headers, "epoch"
	// while batches are delivered.
	Phase string
	// Epoch is the epoch number for Phase "epoch".
	Epoch int
	// Done and Total count files (scan) or images (epoch) so far / in all.
	Done, Total int
	// Bytes counts file bytes read so far in this phase (cached images
	// read no bytes).
	Bytes int64
}

// SkippedFile names a file that was left out and why.
type SkippedFile struct {
	Path   string // full path
	Reason string // e.g. "image: truncated JPEG" or "empty file"
}

// resolved holds validated options with defaults filled in.
type resolved struct {
	Options
	height, width, channels int
	fill                    fillMode
	zoomLo, zoomHi          float64
}

func resolveOptions(opt Options) (*resolved, error) {
	r := &resolved{Options: opt}
	if r.TargetSize == [2]int{} {
		r.TargetSize = [2]int{256, 256}
	}
	r.height, r.width = r.TargetSize[0], r.TargetSize[1]
	if r.height <= 0 || r.width <= 0 {
		return nil, fmt.Errorf("dataset: TargetSize %v must be positive (height, width)", r.TargetSize)
	}
	switch r.ColorMode {
	case "", "rgb":
		r.ColorMode, r.channels = "rgb", 3
	case "grayscale":
		r.channels = 1
	default:
		return nil, fmt.Errorf("dataset: invalid ColorMode %q; expected \"rgb\" or \"grayscale\"", r.ColorMode)
	}
	switch r.ClassMode {
	case "":
		r.ClassMode = "categorical"
	case "categorical", "binary", "sparse", "none":
	default:
		return nil, fmt.Errorf("dataset: invalid ClassMode %q; expected categorical, binary, sparse or none", r.ClassMode)
	}
	if r.BatchSize == 0 {
		r.BatchSize = 32
	}
	if r.BatchSize < 0 {
		return nil, fmt.Errorf("dataset: BatchSize %d must be positive", r.BatchSize)
	}
	switch r.Interpolation {
	case "":
		r.Interpolation = "nearest"
	case "nearest", "bilinear", "bicubic":
	default:
		return nil, fmt.Errorf("dataset: invalid Interpolation %q; expected nearest, bilinear or bicubic", r.Interpolation)
	}
	switch r.Subset {
	case "":
	case "training", "validation":
		if !(r.ValidationSplit > 0 && r.ValidationSplit < 1) {
			return nil, fmt.Errorf("dataset: Subset %q needs ValidationSplit strictly between 0 and 1, got %v", r.Subset, r.ValidationSplit)
		}
	default:
		return nil, fmt.Errorf("dataset: invalid Subset %q; expected \"training\" or \"validation\"", r.Subset)
	}
	if r.ValidationSplit != 0 && !(r.ValidationSplit > 0 && r.ValidationSplit < 1) {
		return nil, fmt.Errorf("dataset: ValidationSplit must be strictly between 0 and 1, got %v", r.ValidationSplit)
	}
	if r.Workers <= 0 {
		r.Workers = runtime.GOMAXPROCS(0)
	}
	if r.Prefetch <= 0 {
		r.Prefetch = r.Workers + 1
	}
	if r.Log == nil {
		r.Log = os.Stdout
	}
	if a := r.Augment; a != nil {
		m, err := parseFillMode(a.FillMode)
		if err != nil {
			return nil, err
		}
		r.fill = m
		r.zoomLo, r.zoomHi = a.zoomBounds()
		if r.zoomLo <= 0 || r.zoomHi < r.zoomLo {
			return nil, fmt.Errorf("dataset: zoom range [%v, %v] must be positive and ordered", r.zoomLo, r.zoomHi)
		}
		if br := a.BrightnessRange; br != [2]float64{} && !(br[0] <= br[1] && br[0] >= 0 && !math.IsInf(br[1], 0)) {
			return nil, fmt.Errorf("dataset: BrightnessRange %v must be [lo, hi] with 0 <= lo <= hi (1 = unchanged)", br)
		}
		if !(a.ChannelShiftRange >= 0) || math.IsInf(a.ChannelShiftRange, 0) {
			return nil, fmt.Errorf("dataset: ChannelShiftRange %v must be a finite value >= 0", a.ChannelShiftRange)
		}
	}
	return r, nil
}

// zoomBounds returns Keras's zoom_range as [lo, hi].
func (a *Augment) zoomBounds() (float64, float64) {
	if a.ZoomRangeXY != [2]float64{} {
		return a.ZoomRangeXY[0], a.ZoomRangeXY[1]
	}
	return 1 - a.ZoomRange, 1 + a.ZoomRange
}
