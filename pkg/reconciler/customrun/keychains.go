package customrun

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/utils/clock"

	"github.com/security-gate/security-gate/pkg/cache"
)

// The registry credentials of a service account are reused for
// keychainTTL. Reading them (the service account, its pull secrets and the
// controller's own) was two API requests per gate, about a third of the API
// server's work per decision, while a gate whose images are all in the
// verification cache needs no credentials at all. A changed pull secret is
// seen within keychainTTL; maxKeychains bounds the memory (service
// accounts come from the runs).
const (
	keychainTTL  = 30 * time.Second
	maxKeychains = 256
)

// cachedKeychains returns f with each keychain kept for keychainTTL per
// namespace, service account and pull secrets, timed on clk. A failure is
// not kept: the next run asks again.
func cachedKeychains(f KeychainFactory, clk clock.PassiveClock) KeychainFactory {
	c := cache.New[authn.Keychain](maxKeychains, keychainTTL, clk)
	return func(ctx context.Context, namespace, serviceAccount string, pullSecrets []string) (authn.Keychain, error) {
		key := fmt.Sprintf("%q %q %q", namespace, serviceAccount, pullSecrets)
		return c.Do(ctx, key, func(ctx context.Context) (authn.Keychain, error) {
			return f(ctx, namespace, serviceAccount, pullSecrets)
		}, nil)
	}
}
