// Package bench holds gotransfer's published benchmarks: SGEMM at every
// kernel level against gonum, the 13 VGG16 convolutions, whole-network
// forward passes and fine-tuning steps. Everything lives in _test.go files;
// run them with
//
//	go test -run '^$' -bench . ./bench/
//
// and compare with ../shared/bench/peers.sh (OpenBLAS and PyTorch on the
// same machine) in the same session: absolute times drift on shared hosts,
// ratios measured side by side do not.
package bench
