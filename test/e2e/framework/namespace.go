//go:build e2e

package framework

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Namespace creates a fresh namespace for t, with the `default`
// ServiceAccount no controller-manager creates here. It is deleted when t
// ends unless the test failed (its objects help the diagnosis).
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	base := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(base) > 40 {
		base = base[:40]
	}
	ns, err := e.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: strings.Trim(base, "-") + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	if _, err := e.Kube.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ServiceAccount %s/default: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = e.Kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		}
	})
	return ns.Name
}

// Eventually polls cond every 100 ms until it returns true, an error, or
// timeout passes; what names the awaited condition in the failure.
// The timeout is a bound on a hang, not an assertion on speed.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			last = err
		}
		return ok, nil
	})
	if err != nil {
		msg := fmt.Sprintf("waiting for %s: %v", what, err)
		if last != nil {
			msg += fmt.Sprintf(" (last error: %v)", last)
		}
		t.Fatal(msg)
	}
}
