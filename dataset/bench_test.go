package dataset

import (
	"fmt"
	"io"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time. Benchmarks report
// img/cpu-s next to img/s because the shared 2-core machine is often
// oversubscribed; 2 × img/cpu-s is what 2 idle cores would reach when the
// work parallelises.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipeline measures images per second through the whole input
// pipeline on hymenoptera/train (245 real photos, mostly 500 px JPEGs):
//
//	first:  no cache, every iteration decodes every file (a first epoch);
//	cached: Cache on and warmed, iterations only augment and batch.
//
// Run: go test ./dataset -run '^$' -bench Pipeline -benchtime 3x
func BenchmarkPipeline(b *testing.B) {
	root := sharedDatasets(b)
	for _, ds := range []string{"hymenoptera"} {
		dir := filepath.Join(root, ds, "train")
		for _, size := range []int{224, 150} {
			for _, aug := range []bool{true, false} {
				for _, cached := range []bool{false, true} {
					name := fmt.Sprintf("%s/%d/%s/%s", ds, size, map[bool]string{true: "aug", false: "noaug"}[aug], map[bool]string{true: "cached", false: "first"}[cached])
					b.Run(name, func(b *testing.B) {
						opt := Options{TargetSize: [2]int{size, size}, BatchSize: 32, Shuffle: true, Seed: 1, Cache: cached, Log: io.Discard}
						if aug {
							opt.Augment = &Augment{Rescale: 1.0 / 255, RotationRange: 40, WidthShiftRange: 0.2, HeightShiftRange: 0.2,
								ShearRange: 0.2, ZoomRange: 0.2, HorizontalFlip: true}
						}
						d, err := FromDirectory(dir, opt)
						if err != nil {
							b.Fatal(err)
						}
						if cached {
							collect(b, d, 0)
						}
						b.ResetTimer()
						cpu0 := cpuTime()
						n := 0
						for i := 0; i < b.N; i++ {
							for _, bt := range collect(b, d, i+1) {
								n += bt.X.Dim(0)
							}
						}
						b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "img/s")
						b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "img/cpu-s")
					})
				}
			}
		}
	}
}

// BenchmarkWarp measures one 150×150×3 augmentation (typical ranges).
func BenchmarkWarp(b *testing.B) {
	const h, w = 150, 150
	src := randomImage(h, w, 3, 1)
	dst := make([]float32, h*w*3)
	tr := Transform{Theta: 23, Tx: 12, Ty: -9, Shear: 0.15, Zx: 0.9, Zy: 1.1, FlipHorizontal: true}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		warp(dst, src, h, w, 3, tr, fillNearest, 0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "img/cpu-s")
}
