//go:build !unix

package winograd

import "time"

// processCPUTime is unavailable here; the cpu-based metrics then read 0.
func processCPUTime() time.Duration { return 0 }
