// Package shards is the on-disk format of cmd/features outputs, sharded or
// not: how a flow_from_directory listing is split N ways, how each part is
// written, and how a folder of parts is checked and merged back.
//
// # Listing and sharding
//
// List walks DIR/<class>/** with Keras's flow_from_directory rules (sorted
// class folders, sorted recursive walk, the image extensions of the dataset
// package) without opening any file, so every shard of a Kubernetes Indexed
// Job can list a million files cheaply and identically. Shard I of N takes
// listing positions I, I+N, I+2N, …: disjoint, covering, balanced within
// one file. Files that fail to decode are skipped, named in the manifest,
// and left out of the rows.
//
// # Files
//
// One run (or shard) writes, under a stem such as out or
// DIR/shard-00002-of-00008:
//
//	STEM.npy             float32 features (rows, h, w, C) or (rows, C), NumPy .npy
//	STEM_labels.npy      int64 class index per row (labelled folder input)
//	STEM_files.jsonl     one JSON object per row, in row order:
//	                     {"row":0,"index":17,"path":"data/train/ants/a.jpg","label":0}
//	                     index is the listing position (the argument position for
//	                     file input); label is absent for file input; a path that
//	                     is not valid UTF-8 also gets "path_base64" (its raw bytes)
//	STEM_classes.jsonl   one JSON object per class: {"index":0,"name":"ants"}
//	STEM_manifest.json   Manifest, written last
//
// JSON escapes newlines and control characters, so a file name can never
// break the row/file correspondence; in Python,
// [json.loads(l)["path"] for l in open("out_files.jsonl")] lists the rows.
// Every file is written atomically (temporary file, fsync, rename) with
// mode 0644. A re-run first removes its manifest and stale temporaries
// (Begin), so an interrupted re-run reads as a missing shard; the manifest
// holds each file's size and SHA-256, so a file changed after its manifest
// was written is refused too.
//
// # Merging
//
// Open checks a folder of manifests: one per shard 0…N−1, no duplicate, one
// listing fingerprint, equal Settings (model, width, input size,
// precision, pooling, preprocessing, interpolation, forward batch size,
// weights MD5) and feature shape; Load verifies the files and returns the
// rows in listing order. Features.Data then equals, bit for bit, what one
// unsharded run with the same settings writes (cmd/features pads every
// forward pass to the batch size so a row's rounding does not depend on
// which shard it fell in).
package shards
