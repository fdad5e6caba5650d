package transient

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// marked is an error that may go away on retry.
type marked struct{ err error }

func (m *marked) Error() string { return m.err.Error() }
func (m *marked) Unwrap() error { return m.err }

// Mark returns err marked as transient (nil stays nil). Wrapping it further
// with %w keeps the mark; errors.Is and errors.As still see err.
func Mark(err error) error {
	if err == nil {
		return nil
	}
	return &marked{err: err}
}

// Errorf is fmt.Errorf, marked transient.
func Errorf(format string, args ...any) error {
	return Mark(fmt.Errorf(format, args...))
}

// Is reports whether err may go away on retry: it, or an error it wraps,
// was marked with Mark, or it is a context deadline that passed (the
// standard library's own "not within the time given", which no code of ours
// can mark where it arises). A cancelled context is not transient: whoever
// cancelled it gave up.
func Is(err error) bool {
	if err == nil {
		return false
	}
	var m *marked
	return errors.As(err, &m) || errors.Is(err, context.DeadlineExceeded)
}

// API marks an error of a Kubernetes API request transient unless asking
// again cannot change the answer: the object does not exist, the caller may
// not read it, or the request itself is wrong. A server timeout, throttling,
// an internal error or a connection that failed are transient. Callers that
// expect an object to appear (a run's owner the informer has not delivered
// yet) handle NotFound before calling it.
func API(err error) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err), apierrors.IsUnauthorized(err),
		apierrors.IsBadRequest(err), apierrors.IsInvalid(err), apierrors.IsMethodNotSupported(err),
		apierrors.IsNotAcceptable(err), apierrors.IsUnsupportedMediaType(err), errors.Is(err, context.Canceled):
		return err
	}
	return Mark(err)
}
