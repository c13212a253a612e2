// Package dataset loads image-folder datasets with the semantics of Keras's
// ImageDataGenerator.flow_from_directory, augments them like
// ImageDataGenerator, and feeds batches through a parallel, ordered,
// deterministic pipeline. It also reads MNIST-style IDX files.
//
// # Typical use (cmd/finetune)
//
// The ImageNet VGG weights expect Keras's caffe preprocessing (BGR, mean
// subtracted, 0..255 scale), so Preprocess is vgg.PreprocessHook and
// Augment.Rescale stays 0 (rescale=1/255 would not match these weights):
//
//	splits, warnings, err := dataset.FindSplits("data", 0) // data/train + data/val
//	for _, w := range warnings {
//		fmt.Println(w)
//	}
//	train, err := dataset.FromDirectory(splits.Train, dataset.Options{
//		TargetSize: [2]int{224, 224}, BatchSize: 16, Shuffle: true, Seed: 1,
//		ClassMode: "sparse", Cache: true, Preprocess: vgg.PreprocessHook,
//		Augment: &dataset.Augment{RotationRange: 40,
//			WidthShiftRange: 0.2, HeightShiftRange: 0.2, ShearRange: 0.2,
//			ZoomRange: 0.2, HorizontalFlip: true},
//	})
//	// prints "Found 245 images belonging to 2 classes."
//	for epoch := 0; epoch < epochs; epoch++ {
//		it := train.Epoch(ctx, epoch)
//		for {
//			b, err := it.Next() // b.X (N,224,224,3), b.Labels (sparse: b.Y nil)
//			if err == io.EOF { break }
//			...
//		}
//		it.Close()
//	}
//
// One file, decoded exactly as the pipeline decodes it (for prediction):
//
//	x, err := dataset.LoadImage("ant.jpg", dataset.Options{
//		TargetSize: [2]int{224, 224}, Preprocess: vgg.PreprocessHook})
//	// x is (1, 224, 224, 3)
//
// FromFiles builds a Directory from a list of files (no labels) to run
// many files through the parallel pipeline.
//
// # Data folder layout
//
// FindSplits recognises DIR/train/ with DIR/validation/, DIR/val/
// (torchvision's naming) or DIR/valid/ beside it, or DIR/<class>/ alone,
// and returns warnings to print when split folders are not recognised,
// when folders are ignored, when there is no validation data, or when the
// two splits' class folders differ.
//
// # Listing (as flow_from_directory)
//
// Classes are the sorted subfolder names of the directory (or
// Options.Classes, in that order); a label is the class's index. Each class
// folder is walked recursively (symlinked folders only with FollowLinks),
// ordered like Python's sorted(os.walk(...)) by folder path with each
// folder's file names sorted by byte value. A file is kept when its
// lower-cased name ends with png, jpg, jpeg, bmp, ppm, tif, tiff (Keras's
// list) or gif, webp. With ValidationSplit v and Subset, each class's sorted
// list is cut at int(n·v): "validation" takes the first part, "training"
// the rest. FromDirectory then prints Keras's line
// "Found N images belonging to K classes." to Options.Log.
//
// # Bad files
//
// Building reads the start of every listed file (64 KiB) and parses its
// image header; empty files, unknown formats, unreadable headers, images
// beyond PIL's decompression-bomb limit (more than 2·MaxImagePixels
// pixels) and images that cannot fit the decode-memory budget are skipped
// with one warning line each ("Warning: skipping PATH: REASON"), listed by
// Skipped, and summarised after the Found line (N counts the files that
// passed the check; Keras counts every listed name). Images of more than
// MaxImagePixels pixels are kept with a warning (PIL's
// DecompressionBombWarning). A class folder that is empty, unreadable or
// has no usable file stays a class with no images, with a warning naming
// it (Keras's os.walk ignores what it cannot read; label indices are
// unchanged); an unreadable folder inside a class is skipped with a
// warning. A missing directory, a directory without class folders and a
// dataset with no usable image at all are errors. A file whose header is fine
// but whose data is corrupt (say a truncated JPEG) fails when it is first
// decoded: it is then left out of its batch (that batch is one shorter),
// warned about once, added to Skipped, and left out of every later epoch.
// Labels always travel with their own images.
//
// # Decoding
//
// The format is taken from the file's content, not its name (a WebP named
// .png decodes as WebP): JPEG, PNG, GIF (first frame), BMP, TIFF, WebP and
// PNM (P1–P6). Pixels are converted the way PIL's Image.convert("RGB")
// sees them (Debian's Pillow 9.4 is the reference, testdata/gen_reference.py):
//   - alpha is dropped rather than composited; grayscale is replicated;
//     CMYK uses PIL's formula; 16-bit grayscale is clipped to 255 (Pillow
//     9.4 opens it as mode "I" and clips); 16-bit colour keeps the high byte;
//     paletted images use their palette colours, the transparent entry's
//     too (Go's GIF decoder zeroes it; we restore it from the file);
//   - JPEG chroma is upsampled and converted like libjpeg-turbo ("fancy"
//     upsampling, jdcolor.c tables), lossy WebP like libwebp (fancy
//     upsampling, BT.601 limited range), see ycbcr.go. Only the IDCT
//     differs: JPEGs agree with PIL within ±3 levels (mean ≈ 0.03 on the
//     shared photos), everything else exactly.
//
// Grayscale mode uses PIL's "L" weights (299/587/114 in 16-bit fixed
// point). EXIF orientation is ignored by default, like Keras;
// Options.ExifOrientation applies it to JPEGs (matches PIL's
// ImageOps.exif_transpose).
//
// # Decode memory
//
// A 1 MB PNG can decode to a gigabyte. Non-interlaced PNGs are therefore
// decoded row by row (each row converted and resized as it arrives, with
// image/png's exact pixel types and acceptance rules), never as a whole
// image. For every other file, the need is estimated from its header (the
// file's bytes, the decoder's image at its colour model's bytes per pixel,
// e.g. 8 for 16-bit RGBA and twice that for interlaced PNG, format
// specific working buffers such as progressive JPEG coefficients, our
// full-size conversion and the resize) and reserved from a budget shared
// by all workers (Options.DecodeMemoryBudget, DefaultDecodeMemoryBudget =
// 1 GiB); the reservation is returned once the image is resized. Workers
// wait their turn in order; an image needing more than the whole budget is
// skipped and named.
//
// # Resizing
//
// Every image is resized to TargetSize when loaded, before augmentation
// (Keras's load_img). "nearest" (default), "bilinear" and "bicubic"
// reproduce PIL's resize bit for bit on identical 8-bit input. With
// "nearest", only the pixels the resize keeps are colour-converted.
//
// # Augmentation (ImageDataGenerator)
//
// Per image, Augment.Sample draws θ ∈ U(±RotationRange) degrees, the
// height and width shifts (fractions below 1, pixels from 1 up), the shear
// in degrees, zx and zy independently from [1−z, 1+z], and the two flip
// coins, in Keras's order. They are composed into one affine matrix with
// Keras's apply_affine_transform convention (see augment.go, including its
// two quirks) and applied once with bilinear sampling (order 1) and
// scipy.ndimage's fill modes nearest, constant (Cval), reflect and wrap;
// flips follow. ChannelShiftRange adds one drawn intensity to every value
// and clips to the image's minimum and maximum (after the affine step, as
// Keras's apply_channel_shift); BrightnessRange draws a factor and applies
// PIL's ImageEnhance.Brightness to the image truncated to uint8 (last, as
// Keras's apply_brightness_shift(x, b, scale=False)), so its output is
// whole numbers. Then Options.Preprocess runs, then Augment.Rescale
// (Keras's standardize order). Values are float32 on the 0..255 scale until then.
// Keras's own quirks are kept, so results match it: the height-shift draw
// (scaled by the height) moves the image along the columns and the
// width-shift draw along the rows, and the rotation/shear/zoom centre uses
// h/2 for the column axis (both only matter for non-square targets or
// unequal shift ranges). Tests compare against scipy-run references of
// Keras's code (testdata/gen_reference.py), max error 5e-5.
//
// # Pipeline
//
// Directory.Epoch starts Workers goroutines (GOMAXPROCS by default) that
// decode, resize and augment; at most Prefetch whole batches are built
// ahead of the consumer. Batches come out in order. The shuffle depends on
// (Seed, epoch) and each image's augmentation on (Seed, epoch, file index),
// so the batches are identical whatever the number of workers. With Cache,
// the decoded and resized uint8 images stay in memory (H·W·C bytes each) so
// later epochs skip decoding; Keras decodes every epoch. Cancelling the
// context stops the workers; Next then returns the context's error.
// EpochFrom resumes an epoch at a given step with identical batches.
//
// # Differences from Keras
//
//   - gif and webp are accepted; corrupt files are skipped instead of
//     raising mid-epoch.
//   - Shift ranges are floats: Keras draws an integer range (a Python int
//     such as 5) from the integers −4..4; we draw uniformly from [−5, 5].
//   - ClassMode "binary" needs exactly 2 classes and gives Y of shape (N, 1)
//     (Keras: (N,)). "sparse" gives no Y; use Batch.Labels.
//   - The shuffle and random draws come from Go's PCG generator, not
//     NumPy's, so a Keras seed does not reproduce Keras's exact batches.
//   - color_mode "rgba" and the class modes "input", "raw" and
//     "multi_output" are not implemented.
//   - Grayscale mode reduces 16-bit grayscale to 8 bits (Keras keeps PIL's
//     mode "I" values up to 65535).
package dataset
