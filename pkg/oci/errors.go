package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TransientError is returned, marked transient (pkg/transient), once the
// retries of a request are exhausted on a failure that may go away by
// itself: a 5xx, 408 or 429 status, a timeout, a connection reset. It means
// "could not decide", never "missing".
type TransientError struct {
	// Method and URL of the request.
	Method, URL string
	// Attempts is how many times the request was sent.
	Attempts int
	// Status is the last HTTP status, or 0 when there was no response.
	Status int
	// Err is the last underlying error, if any.
	Err error
}

func (e *TransientError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("registry answered %d %s to %s %s after %s",
			e.Status, http.StatusText(e.Status), e.Method, e.URL, attempts(e.Attempts))
	}
	return fmt.Sprintf("registry request %s %s failed after %s: %v", e.Method, e.URL, attempts(e.Attempts), e.Err)
}

func (e *TransientError) Unwrap() error { return e.Err }

// TooLargeError is returned when a response is larger than the cap for its
// kind (manifest, blob). It is not transient: the registry serves content the
// gate refuses to read.
type TooLargeError struct {
	URL   string
	Kind  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.URL == "" {
		return fmt.Sprintf("%s larger than the %s read limit", e.Kind, humanBytes(e.Limit))
	}
	return fmt.Sprintf("%s larger than the %s read limit (%s)", e.Kind, humanBytes(e.Limit), e.URL)
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// timeoutError is a request that used up its budget (as opposed to the
// caller's context ending). It is returned marked transient.
type timeoutError struct {
	err    error
	budget time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("registry request timed out (budget %s for all attempts): %v", e.budget, e.err)
}
func (e *timeoutError) Unwrap() error { return e.err }
func (e *timeoutError) Timeout() bool { return true }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// IsNotFound reports whether the registry said the manifest, blob or
// repository does not exist (404, or the MANIFEST_UNKNOWN, NAME_UNKNOWN and
// BLOB_UNKNOWN error codes some registries send with other statuses).
func IsNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return true
		}
	}
	return false
}

// IsTooLarge reports whether err is a size-cap refusal.
func IsTooLarge(err error) bool {
	var te *TooLargeError
	return errors.As(err, &te)
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	}
	return code >= 500 && code <= 599
}

// transientNetError classifies errors below HTTP, where they arise: the
// transport marks what it returns accordingly. A cancelled caller context
// is not transient: the caller gave up.
func transientNetError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var to *timeoutError
	if errors.As(err, &to) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}
