package vgg

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testServer serves body at /vgg16/test.h5. With truncateFirst, the first
// plain (non-Range) response advertises the full length but stops after
// half the bytes (a dropped connection). It counts Range requests, and
// honours "bytes=N-" ranges unless noRange is set.
type testServer struct {
	body          []byte
	truncateFirst bool
	stallFirst    chan struct{} // when set, the first response sends half then waits for it to close
	noRange       bool
	requests      atomic.Int32
	ranged        atomic.Int32
}

func (s *testServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	if r.URL.Path != "/vgg16/test.h5" {
		http.NotFound(w, r)
		return
	}
	start := 0
	if rg := r.Header.Get("Range"); rg != "" && !s.noRange {
		v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || v >= len(s.body) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		s.ranged.Add(1)
		start = v
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(s.body)-1, len(s.body)))
		w.Header().Set("Content-Length", strconv.Itoa(len(s.body)-start))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(s.body[start:])
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
	w.WriteHeader(http.StatusOK)
	if s.stallFirst != nil && n == 1 {
		w.Write(s.body[:len(s.body)/2])
		w.(http.Flusher).Flush()
		select {
		case <-s.stallFirst:
		case <-r.Context().Done():
		}
		return
	}
	if s.truncateFirst && n == 1 {
		w.Write(s.body[:len(s.body)/2])
		// hijack and close: the client sees an unexpected EOF
		if hj, ok := w.(http.Hijacker); ok {
			w.(http.Flusher).Flush()
			c, _, _ := hj.Hijack()
			c.Close()
		}
		return
	}
	w.Write(s.body)
}

func testBody() ([]byte, string) {
	b := make([]byte, 300_001)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	sum := md5.Sum(b)
	return b, hex.EncodeToString(sum[:])
}

func newFetcher(t *testing.T, url string) (*Fetcher, string) {
	dir := filepath.Join(t.TempDir(), "models")
	return &Fetcher{CacheDirs: []string{dir}, BaseURL: url, MaxAttempts: 1}, dir
}

func TestFetchGoodChecksum(t *testing.T) {
	body, sum := testBody()
	srv := httptest.NewServer(&testServer{body: body})
	defer srv.Close()
	f, dir := newFetcher(t, srv.URL)
	var progress bytes.Buffer
	f.Progress = &progress
	wf := WeightFile{Name: "test.h5", Subdir: "vgg16", Size: int64(len(body)), MD5: sum}
	p, err := f.Fetch(wf)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(dir, "test.h5") {
		t.Errorf("path %s", p)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, body) {
		t.Error("downloaded bytes differ")
	}
	if !strings.Contains(progress.String(), "100%") {
		t.Errorf("no progress bar: %q", progress.String())
	}
	if _, err := os.Stat(p + ".part"); !os.IsNotExist(err) {
		t.Error(".part file left behind")
	}
	// second call: served from the cache, no request
	srv.Close()
	if p2, err := f.Fetch(wf); err != nil || p2 != p {
		t.Errorf("cached fetch: %v %s", err, p2)
	}
}

func TestFetchBadChecksum(t *testing.T) {
	body, _ := testBody()
	srv := httptest.NewServer(&testServer{body: body})
	defer srv.Close()
	f, dir := newFetcher(t, srv.URL)
	f.MaxAttempts = 3
	ts := srv.Config.Handler.(*testServer)
	_, err := f.Fetch(WeightFile{Name: "test.h5", Subdir: "vgg16", Size: int64(len(body)), MD5: strings.Repeat("0", 32)})
	if err == nil || !strings.Contains(err.Error(), "md5") {
		t.Fatalf("want an md5 error, got %v", err)
	}
	if n := ts.requests.Load(); n != 1 {
		t.Errorf("checksum failure retried: %d requests", n)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("bad download left files: %v", entries)
	}
}

func TestFetchTruncatedThenResume(t *testing.T) {
	body, sum := testBody()
	ts := &testServer{body: body, truncateFirst: true}
	srv := httptest.NewServer(ts)
	defer srv.Close()
	f, dir := newFetcher(t, srv.URL)
	wf := WeightFile{Name: "test.h5", Subdir: "vgg16", Size: int64(len(body)), MD5: sum}
	_, err := f.Fetch(wf)
	if err == nil {
		t.Fatal("truncated transfer accepted")
	}
	for _, want := range []string{"test.h5", filepath.Join(dir, "test.h5"), sum, "300001 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, "test.h5.part"))
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(body)) {
		t.Fatalf("partial file: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "test.h5")); !os.IsNotExist(err) {
		t.Fatal("truncated file renamed into place")
	}
	// next call resumes with a Range request
	p, err := f.Fetch(wf)
	if err != nil {
		t.Fatal(err)
	}
	if ts.ranged.Load() != 1 {
		t.Errorf("%d range requests, want 1", ts.ranged.Load())
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, body) {
		t.Error("resumed file differs")
	}
}

// Within one Fetch, retries resume; a server ignoring Range restarts cleanly.
func TestFetchRetryWithoutRangeSupport(t *testing.T) {
	body, sum := testBody()
	ts := &testServer{body: body, truncateFirst: true, noRange: true}
	srv := httptest.NewServer(ts)
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL)
	f.MaxAttempts = 2
	p, err := f.Fetch(WeightFile{Name: "test.h5", Subdir: "vgg16", Size: int64(len(body)), MD5: sum})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, body) || ts.requests.Load() != 2 {
		t.Errorf("restart: equal=%v requests=%d", bytes.Equal(got, body), ts.requests.Load())
	}
}

func TestFetchOffline(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	f, dir := newFetcher(t, url)
	_, err := f.Fetch(WeightFile{Name: "test.h5", Subdir: "vgg16", Size: 10, MD5: strings.Repeat("a", 32)})
	if err == nil {
		t.Fatal("offline fetch succeeded")
	}
	if !strings.Contains(err.Error(), "copy it to "+filepath.Join(dir, "test.h5")) {
		t.Errorf("error does not say where to put the file: %v", err)
	}
}

// A corrupt cached file is replaced by a fresh download.
func TestFetchReplacesCorruptCache(t *testing.T) {
	body, sum := testBody()
	srv := httptest.NewServer(&testServer{body: body})
	defer srv.Close()
	f, dir := newFetcher(t, srv.URL)
	os.MkdirAll(dir, 0o755)
	bad := append([]byte(nil), body...)
	bad[100] ^= 1
	os.WriteFile(filepath.Join(dir, "test.h5"), bad, 0o644)
	p, err := f.Fetch(WeightFile{Name: "test.h5", Subdir: "vgg16", Size: int64(len(body)), MD5: sum})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, body) {
		t.Error("corrupt cache not replaced")
	}
}

func TestKerasCacheDirs(t *testing.T) {
	t.Setenv("KERAS_HOME", "/somewhere/keras")
	d := KerasCacheDirs()
	if len(d) == 0 || d[0] != "/somewhere/keras/models" {
		t.Errorf("dirs %v", d)
	}
	if _, err := ImageNetWeightFile(11, false); err == nil {
		t.Error("VGG11 ImageNet weights claimed")
	}
	wf, _ := ImageNetWeightFile(16, false)
	if wf.Size != 58889256 || wf.MD5 != "6d6bbae143d832006294945121d1f1fc" {
		t.Errorf("notop file %+v", wf)
	}
}

// A server that stops sending mid-file: the idle watchdog aborts the
// attempt, and the next attempt resumes from the bytes received.
func TestFetchStalledTransferResumes(t *testing.T) {
	body, sum := testBody()
	ts := &testServer{body: body, stallFirst: make(chan struct{})}
	srv := httptest.NewServer(ts)
	defer srv.Close()
	defer close(ts.stallFirst)
	f, _ := newFetcher(t, srv.URL)
	f.IdleTimeout = 300 * time.Millisecond
	f.MaxAttempts = 2
	p, err := f.Fetch(WeightFile{Name: "test.h5", Subdir: "vgg16", Size: int64(len(body)), MD5: sum})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, body) || ts.ranged.Load() != 1 {
		t.Errorf("equal=%v range requests=%d", bytes.Equal(got, body), ts.ranged.Load())
	}
}
