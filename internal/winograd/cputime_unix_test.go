//go:build unix

package winograd

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time of the whole process: on a
// shared, noisy host it measures the work done, not the time waited.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
