package trustroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// httpFetcher downloads repository files for one refresh. go-tuf's Fetcher
// takes no context, so the refresh's context is carried here: cancelling it
// (pool closed, refresh budget spent) ends the request in flight. Each
// request is also bounded by the client's own timeout, and each body by the
// length go-tuf allows for that file.
type httpFetcher struct {
	ctx    context.Context
	client *http.Client
	agent  string
}

var _ fetcher.Fetcher = (*httpFetcher)(nil)

func (f *httpFetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if f.agent != "" {
		req.Header.Set("User-Agent", f.agent)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, &unreachableError{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		httpErr := &metadata.ErrDownloadHTTP{StatusCode: resp.StatusCode, URL: url}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			return nil, &unreachableError{err: httpErr}
		}
		return nil, httpErr
	}
	return readBounded(resp.Body, url, maxLength)
}

// readBounded reads at most maxLength bytes; more is go-tuf's length error.
func readBounded(r io.Reader, url string, maxLength int64) ([]byte, error) {
	if maxLength <= 0 {
		maxLength = defaultMaxFile
	}
	b, err := io.ReadAll(io.LimitReader(r, maxLength+1))
	if err != nil {
		return nil, &unreachableError{err: fmt.Errorf("reading %s: %w", url, err)}
	}
	if int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is longer than the %d bytes allowed", url, maxLength)}
	}
	return b, nil
}

// defaultMaxFile bounds a file for which go-tuf gives no length.
const defaultMaxFile = 4 << 20

// unreachableError marks a download that failed because the repository could
// not be reached or answered with a server error: the kind of failure that
// may go away, unlike a file that fails verification.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// mapFetcher serves a serialized repository from memory. It receives the
// same URLs an HTTP mirror would, under base.
type mapFetcher struct {
	base  string
	files map[string][]byte
}

var _ fetcher.Fetcher = (*mapFetcher)(nil)

func (f *mapFetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	name, ok := strings.CutPrefix(url, f.base+"/")
	if !ok {
		return nil, fmt.Errorf("%s is outside the serialized repository", url)
	}
	b, ok := f.files[name]
	if !ok {
		// A missing N.root.json ends the root walk, as a 404 does.
		return nil, &metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: url}
	}
	if maxLength > 0 && int64(len(b)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is longer than the %d bytes allowed", name, maxLength)}
	}
	return b, nil
}

// recordingFetcher remembers every file another fetcher served, by its path
// under base: what a serialized copy of the repository needs.
type recordingFetcher struct {
	next fetcher.Fetcher
	base string

	mu    sync.Mutex
	files map[string][]byte
}

func (f *recordingFetcher) DownloadFile(url string, maxLength int64, timeout time.Duration) ([]byte, error) {
	b, err := f.next.DownloadFile(url, maxLength, timeout)
	if err != nil {
		return nil, err
	}
	name, ok := strings.CutPrefix(url, f.base+"/")
	if !ok {
		return nil, fmt.Errorf("%s is outside the repository %s", url, f.base)
	}
	f.mu.Lock()
	f.files[name] = b
	f.mu.Unlock()
	return b, nil
}

// isUnreachable reports whether err comes from a repository that could not be
// reached (network error, timeout, 5xx), as opposed to one that answered with
// something TUF rejected.
func isUnreachable(err error) bool {
	var u *unreachableError
	return errors.As(err, &u) || errors.Is(err, context.DeadlineExceeded)
}
