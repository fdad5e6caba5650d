package gate

import (
	"context"
	"errors"
	"net"
)

// transientError marks an error that may go away on retry.
type transientError struct{ err error }

func (e transientError) Error() string   { return e.err.Error() }
func (e transientError) Unwrap() error   { return e.err }
func (e transientError) Transient() bool { return true }

// MarkTransient wraps err so that IsTransient reports true: a Resolver or an
// ArtifactVerifier uses it for registry 5xx answers, timeouts and connection
// resets, so the controller retries instead of failing the run.
func MarkTransient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err: err}
}

// IsTransient reports whether err may go away on retry: marked with
// MarkTransient (or any error with a `Transient() bool` or
// `Temporary() bool` method saying so), a deadline, or a network timeout.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var t interface{ Transient() bool }
	if errors.As(err, &t) && t.Transient() {
		return true
	}
	var tmp interface{ Temporary() bool }
	if errors.As(err, &tmp) && tmp.Temporary() {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
