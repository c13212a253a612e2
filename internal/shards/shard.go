package shards

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one part of a listing split N ways: shard I of N holds listing
// positions I, I+N, I+2N, … (0 ≤ I < N), so the N shards are disjoint,
// cover every file, and differ in size by at most one file whatever the
// order of the classes.
type Shard struct {
	Index int // I, 0-based
	Count int // N ≥ 1
}

// MaxShards bounds N (Kubernetes caps an Indexed Job's completions at 10^5
// when parallelism is above 10^5; we allow the same order of magnitude).
const MaxShards = 1_000_000

// Whole is the single shard 0/1 (an unsharded run).
var Whole = Shard{0, 1}

// ParseShard reads "I/N" (for example "2/8").
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 0/4", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want I/N with integers, e.g. 0/4", s)
	}
	sh := Shard{i, n}
	return sh, sh.Validate()
}

// IndexEnv is the variable Kubernetes sets in every pod of an Indexed Job
// (spec.completionMode: Indexed) to the pod's completion index, 0…N−1.
// Kubernetes does not pass the completion count: it comes from a flag or
// from CountEnv, which the Job manifest sets itself (docs/scale/job.yaml).
const (
	IndexEnv = "JOB_COMPLETION_INDEX"
	CountEnv = "JOB_COMPLETIONS"
)

// AutoShard returns the shard of an Indexed Job's pod: I from
// JOB_COMPLETION_INDEX, N from count when it is positive, else from
// JOB_COMPLETIONS. getenv is os.Getenv (a parameter for tests).
func AutoShard(count int, getenv func(string) string) (Shard, error) {
	is := getenv(IndexEnv)
	if is == "" {
		return Shard{}, fmt.Errorf("-shard auto: %s is not set (it is set in the pods of a Kubernetes Indexed Job); use -shard I/N elsewhere", IndexEnv)
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return Shard{}, fmt.Errorf("-shard auto: %s=%q is not an integer", IndexEnv, is)
	}
	if count <= 0 {
		cs := getenv(CountEnv)
		if cs == "" {
			return Shard{}, fmt.Errorf("-shard auto: give -shards N (the Job's spec.completions) or set %s; Kubernetes does not pass the completion count", CountEnv)
		}
		if count, err = strconv.Atoi(cs); err != nil {
			return Shard{}, fmt.Errorf("-shard auto: %s=%q is not an integer", CountEnv, cs)
		}
	}
	sh := Shard{i, count}
	return sh, sh.Validate()
}

// Validate checks 0 ≤ I < N ≤ MaxShards.
func (s Shard) Validate() error {
	if s.Count < 1 || s.Count > MaxShards {
		return fmt.Errorf("shard %d/%d: N must be between 1 and %d", s.Index, s.Count, MaxShards)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: I must be between 0 and N-1 = %d", s.Index, s.Count, s.Count-1)
	}
	return nil
}

// String is "I/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Base is the file-name stem of the shard's outputs in a shard folder,
// "shard-00002-of-00008" (zero-padded to 5 digits so names sort by index).
func (s Shard) Base() string { return fmt.Sprintf("shard-%05d-of-%05d", s.Index, s.Count) }

// Positions returns the listing positions of the shard in a listing of n
// files: Index, Index+Count, … below n.
func (s Shard) Positions(n int) []int {
	var p []int
	for i := s.Index; i < n; i += s.Count {
		p = append(p, i)
	}
	return p
}
