//go:build linux

package tensor

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// TestFloatsAdvisesHugePages checks in /proc/self/smaps that the mapping
// holding the interior of a large Floats buffer carries the "hg" flag
// (MADV_HUGEPAGE), and that a small buffer is left alone by Floats.
func TestFloatsAdvisesHugePages(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skipf("no transparent huge pages on this kernel: %v", err)
	} else if strings.Contains(string(b), "[never]") {
		t.Skip("transparent huge pages are disabled ([never]) on this machine")
	}
	x := Floats(3 * HugePageMin / 4) // 12 MiB: at least 5 whole 2 MiB pages
	p := uintptr(unsafe.Pointer(&x[0]))
	lo, hi := hugeSpan(p, 4*len(x))
	if hi-lo < 5*hugePageSize {
		t.Fatalf("only %d bytes of whole huge pages in a 12 MiB buffer", hi-lo)
	}
	flags, err := vmFlagsAt(p + uintptr(lo) + hugePageSize)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("VmFlags of the buffer's mapping are %q, want the hg (MADV_HUGEPAGE) flag", flags)
	}
	runtime.KeepAlive(x)
}

// vmFlagsAt returns the VmFlags line of the /proc/self/smaps mapping that
// contains address a.
func vmFlagsAt(a uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") {
			in = lo <= a && a < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("address %#x is in no mapping of /proc/self/smaps", a)
}
