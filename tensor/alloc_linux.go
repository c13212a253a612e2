//go:build linux

package tensor

import (
	"syscall"
	"unsafe"
)

// madvHugePage is Linux's MADV_HUGEPAGE (asm-generic/mman-common.h).
const madvHugePage = 14

// adviseHugePages marks the whole 2 MiB pages of buf as huge-page
// candidates. The advice is best effort: an error (an old kernel, THP
// compiled out) leaves ordinary pages, which are just as correct.
func adviseHugePages(buf []float32) {
	if len(buf) == 0 {
		return
	}
	p := uintptr(unsafe.Pointer(&buf[0]))
	lo, hi := hugeSpan(p, 4*len(buf))
	if lo == hi {
		return
	}
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), 4*len(buf))
	_ = syscall.Madvise(mem[lo:hi], madvHugePage)
}
