package vgg

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is where Keras downloads its application weights from; a
// file's address is DefaultBaseURL/<Subdir>/<Name>.
const DefaultBaseURL = "https://storage.googleapis.com/tensorflow/keras-applications"

// WeightFile describes one downloadable weights file.
type WeightFile struct {
	Name   string // file name, also its name in the Keras cache, e.g. "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
	Subdir string // folder under the base URL, e.g. "vgg16"
	Size   int64  // expected size in bytes; 0 = unknown (not checked)
	MD5    string // expected MD5, lower-case hex (Keras's file_hash)
}

// ImageNetWeightFile returns Keras's ImageNet weights file for VGG depth 16 or
// 19 (Keras publishes no VGG11/13 weights), with or without the top
// (flatten, fc1, fc2, predictions). Sizes are known for VGG16 only.
func ImageNetWeightFile(depth int, includeTop bool) (WeightFile, error) {
	switch {
	case depth == 16 && !includeTop:
		return WeightFile{"vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg16", 58889256, "6d6bbae143d832006294945121d1f1fc"}, nil
	case depth == 16:
		return WeightFile{"vgg16_weights_tf_dim_ordering_tf_kernels.h5", "vgg16", 553467096, "64373286793e3c8b2b4e3219cbf3544b"}, nil
	case depth == 19 && !includeTop:
		return WeightFile{"vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "vgg19", 0, "253f8cb515780f3b799900260a226db6"}, nil
	case depth == 19:
		return WeightFile{"vgg19_weights_tf_dim_ordering_tf_kernels.h5", "vgg19", 0, "cbe5617147190e668d6c5d5026f83318"}, nil
	}
	return WeightFile{}, fmt.Errorf("vgg: no ImageNet weights for VGG%d (Keras publishes VGG16 and VGG19 only)", depth)
}

// Weights returns the local path of a named pretrained weights file,
// downloading it into the Keras cache when needed (see Fetcher.Fetch).
// name is "imagenet" or "vgg16" (VGG16 ImageNet weights) or "vgg19" (VGG19
// ImageNet weights). includeTop selects the file with the classifier layers.
func Weights(name string, includeTop bool) (string, error) {
	depth := 0
	switch name {
	case "imagenet", "vgg16":
		depth = 16
	case "vgg19":
		depth = 19
	default:
		return "", fmt.Errorf("vgg: unknown weights %q (want imagenet, vgg16 or vgg19)", name)
	}
	wf, err := ImageNetWeightFile(depth, includeTop)
	if err != nil {
		return "", err
	}
	f := Fetcher{Progress: os.Stderr}
	return f.Fetch(wf)
}

// KerasCacheDirs lists where Keras keeps downloaded models, in search order:
// $KERAS_HOME/models (when KERAS_HOME is set) and ~/.keras/models.
func KerasCacheDirs() []string {
	var dirs []string
	if h := os.Getenv("KERAS_HOME"); h != "" {
		dirs = append(dirs, filepath.Join(h, "models"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".keras", "models"))
	}
	return dirs
}

// Fetcher finds weight files in a cache and downloads missing ones. The zero
// value uses Keras's cache folders and address, no progress output.
type Fetcher struct {
	CacheDirs   []string      // folders searched in order; downloads go to the first. nil = KerasCacheDirs()
	BaseURL     string        // "" = DefaultBaseURL
	Client      *http.Client  // nil = a client with a 30 s connect/header timeout
	Progress    io.Writer     // progress bar destination (os.Stderr for a terminal); nil = silent
	MaxAttempts int           // download attempts, each resuming the previous one (0 = 3)
	IdleTimeout time.Duration // abort an attempt when no byte arrives for this long (0 = 60 s)
}

// Fetch returns the path of wf in the cache, downloading it first when no
// cached copy has the right size and MD5. Downloads are resumable: bytes go
// to <cache>/<name>.part, an interrupted transfer is continued with an HTTP
// Range request (on the next attempt or the next call), and the file is
// renamed into place only after its size and MD5 match. A checksum mismatch
// deletes the .part file. When the download fails (e.g. offline) the error
// says where to put the file by hand.
func (f *Fetcher) Fetch(wf WeightFile) (string, error) {
	dirs := f.CacheDirs
	if dirs == nil {
		dirs = KerasCacheDirs()
	}
	if len(dirs) == 0 {
		return "", errors.New("vgg: no cache folder for weights (set KERAS_HOME)")
	}
	for _, d := range dirs {
		p := filepath.Join(d, wf.Name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := verifyFile(p, wf); err == nil {
			return p, nil
		} else if f.Progress != nil {
			fmt.Fprintf(f.Progress, "vgg: cached %s is unusable (%v); downloading it again\n", p, err)
		}
	}
	dest := filepath.Join(dirs[0], wf.Name)
	base := f.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	url := strings.TrimRight(base, "/") + "/" + wf.Subdir + "/" + wf.Name
	if err := os.MkdirAll(dirs[0], 0o755); err != nil {
		return "", f.offlineError(wf, url, dest, err)
	}
	attempts := f.MaxAttempts
	if attempts <= 0 {
		attempts = 3
	}
	var err error
	for a := 0; a < attempts; a++ {
		err = f.download(wf, url, dest)
		if err == nil {
			return dest, nil
		}
		var fatal *checksumError
		if errors.As(err, &fatal) {
			return "", err
		}
	}
	return "", f.offlineError(wf, url, dest, err)
}

// checksumError is a completed download with the wrong content: not retried.
type checksumError struct{ msg string }

func (e *checksumError) Error() string { return e.msg }

func (f *Fetcher) offlineError(wf WeightFile, url, dest string, err error) error {
	size := "unknown size"
	if wf.Size > 0 {
		size = fmt.Sprintf("%d bytes", wf.Size)
	}
	part := ""
	if st, serr := os.Stat(dest + ".part"); serr == nil && st.Size() > 0 {
		part = fmt.Sprintf("; the %d bytes received so far are kept in %s.part and resumed on the next try", st.Size(), dest)
	}
	return fmt.Errorf("vgg: cannot download %s: %v\n"+
		"Without internet access, fetch it elsewhere from %s (%s, md5 %s) and copy it to %s "+
		"(or set KERAS_HOME so that $KERAS_HOME/models/%s exists)%s",
		wf.Name, err, url, size, wf.MD5, dest, wf.Name, part)
}

// download fetches url into dest+".part" (resuming it when present), checks
// size and MD5, then renames it to dest.
func (f *Fetcher) download(wf WeightFile, url, dest string) error {
	part := dest + ".part"
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	if wf.Size > 0 && have > wf.Size {
		os.Remove(part)
		have = 0
	}
	if wf.Size == 0 || have < wf.Size {
		if err := f.fetchRange(wf, url, part, have); err != nil {
			return err
		}
	}
	if err := verifyFile(part, wf); err != nil {
		var ce *checksumError
		if errors.As(err, &ce) {
			os.Remove(part)
		}
		return err
	}
	return os.Rename(part, dest)
}

// fetchRange appends bytes [have, end) of url to part. It asks for a Range
// when have > 0 and starts over when the server ignores it.
func (f *Fetcher) fetchRange(wf WeightFile, url, part string, have int64) error {
	client := f.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		}}
	}
	// a watchdog cancels the request when no byte arrives for IdleTimeout
	idle := f.IdleTimeout
	if idle <= 0 {
		idle = 60 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchdog := time.AfterFunc(idle, cancel)
	defer watchdog.Stop()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return fmt.Errorf("server answered range %q to a request from byte %d", resp.Header.Get("Content-Range"), have)
		}
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC // server ignored the Range: start over
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		return nil // .part already holds everything the server has; verify it
	default:
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	total := wf.Size
	if total == 0 && resp.ContentLength > 0 {
		total = have + resp.ContentLength
	}
	bar := &progressBar{w: f.Progress, name: wf.Name, done: have, total: total, tick: func() { watchdog.Reset(idle) }}
	n, copyErr := io.Copy(io.MultiWriter(out, bar), resp.Body)
	if copyErr != nil && ctx.Err() != nil {
		copyErr = fmt.Errorf("no data for %v (%v)", idle, copyErr)
	}
	bar.finish()
	syncErr := out.Sync()
	closeErr := out.Close()
	if copyErr != nil {
		return fmt.Errorf("transfer interrupted after %d bytes: %v", have+n, copyErr)
	}
	if syncErr != nil {
		return syncErr
	}
	if closeErr != nil {
		return closeErr
	}
	if wf.Size > 0 && have+n < wf.Size {
		return fmt.Errorf("transfer truncated: got %d of %d bytes", have+n, wf.Size)
	}
	return nil
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// verifyFile checks path's size (when wf.Size > 0) and MD5. A wrong size of
// a shorter file is an ordinary error (resumable); a wrong MD5 or a longer
// file is a *checksumError.
func verifyFile(path string, wf WeightFile) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	if wf.Size > 0 && st.Size() < wf.Size {
		return fmt.Errorf("%s is %d bytes, want %d (incomplete)", path, st.Size(), wf.Size)
	}
	if wf.Size > 0 && st.Size() > wf.Size {
		return &checksumError{fmt.Sprintf("%s is %d bytes, want %d", path, st.Size(), wf.Size)}
	}
	h := md5.New()
	if _, err := io.Copy(h, fh); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, wf.MD5) {
		return &checksumError{fmt.Sprintf("%s: md5 %s, want %s (corrupt or different file)", path, got, wf.MD5)}
	}
	return nil
}

// progressBar draws "name  12.3/56.2 MiB [=====>    ]  22%" on one line,
// redrawn at most every 200 ms.
type progressBar struct {
	w           io.Writer
	tick        func() // called on every write (idle watchdog)
	name        string
	done, total int64
	last        time.Time
	drawn       bool
}

func (p *progressBar) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.tick != nil {
		p.tick()
	}
	if p.w != nil && time.Since(p.last) > 200*time.Millisecond {
		p.draw()
	}
	return len(b), nil
}

func (p *progressBar) draw() {
	p.last = time.Now()
	p.drawn = true
	const mib = 1 << 20
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%s %.1f MiB", p.name, float64(p.done)/mib)
		return
	}
	const width = 30
	frac := float64(p.done) / float64(p.total)
	frac = min(max(frac, 0), 1)
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	if fill < width {
		bar = bar[:fill] + ">" + bar[fill+1:]
	}
	fmt.Fprintf(p.w, "\r%s %.1f/%.1f MiB [%s] %3.0f%%", p.name, float64(p.done)/mib, float64(p.total)/mib, bar, 100*frac)
}

func (p *progressBar) finish() {
	if p.w == nil {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
}
