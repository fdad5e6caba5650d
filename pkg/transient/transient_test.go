package transient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/security-gate/security-gate/pkg/transient"
)

func TestIs(t *testing.T) {
	base := errors.New("503 Service Unavailable")
	deadline, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-deadline.Done()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", base, false},
		{"marked", transient.Mark(base), true},
		{"marked, then wrapped twice", fmt.Errorf("image x: %w", fmt.Errorf("reading: %w", transient.Mark(base))), true},
		{"Errorf", transient.Errorf("reading %s: %w", "x", io.EOF), true},
		{"wrapped with %v loses the mark", fmt.Errorf("image x: %v", transient.Mark(base)), false},
		{"a deadline that passed", deadline.Err(), true},
		{"a deadline, wrapped", fmt.Errorf("get: %w", context.DeadlineExceeded), true},
		{"a cancelled context", context.Canceled, false},
		{"joined with a marked one", errors.Join(base, transient.Mark(io.EOF)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := transient.Is(tc.err); got != tc.want {
				t.Errorf("Is(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestMarkKeepsTheError(t *testing.T) {
	if transient.Mark(nil) != nil {
		t.Fatal("Mark(nil) is not nil")
	}
	err := fmt.Errorf("outer: %w", transient.Mark(io.ErrUnexpectedEOF))
	if !errors.Is(err, io.ErrUnexpectedEOF) || err.Error() != "outer: unexpected EOF" {
		t.Errorf("marked error %q does not wrap what it marks", err)
	}
}

func TestAPI(t *testing.T) {
	gr := schema.GroupResource{Group: "securitygate.dev", Resource: "clustersecuritygates"}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not found", apierrors.NewNotFound(gr, "strict"), false},
		{"forbidden", apierrors.NewForbidden(gr, "strict", errors.New("RBAC")), false},
		{"unauthorized", apierrors.NewUnauthorized("token expired"), false},
		{"bad request", apierrors.NewBadRequest("no"), false},
		{"cancelled", fmt.Errorf("get: %w", context.Canceled), false},
		{"server timeout", apierrors.NewServerTimeout(gr, "get", 1), true},
		{"timeout", apierrors.NewTimeoutError("etcd", 1), true},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), true},
		{"internal error", apierrors.NewInternalError(errors.New("etcd")), true},
		{"service unavailable", apierrors.NewServiceUnavailable("restarting"), true},
		{"connection refused", errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := transient.API(tc.err)
			if transient.Is(got) != tc.want {
				t.Errorf("Is(API(%v)) = %v, want %v", tc.err, !tc.want, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("API(%v) = %v, does not wrap it", tc.err, got)
			}
		})
	}
}
