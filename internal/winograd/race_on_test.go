//go:build race

package winograd

// raceEnabled: allocation counts are meaningless under the race detector
// (sync.Pool drops items on purpose).
const raceEnabled = true
