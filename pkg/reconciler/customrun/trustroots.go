package customrun

import (
	"context"
	"os"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/trustroot"
)

// EnvTUFCacheDir names the directory (an emptyDir in config/) where the
// controller keeps its TUF metadata: rollback protection survives a
// container restart. Unset: a private temporary directory.
const EnvTUFCacheDir = "TUF_CACHE_DIR"

// newTrustRoots builds the controller's one pool of Sigstore trust roots,
// shared by every run: one TUF client per root, refreshed in the
// background, on clk. It lives as long as ctx.
func newTrustRoots(ctx context.Context, logger *zap.SugaredLogger, clk clock.PassiveClock) (*trustroot.Pool, error) {
	p, err := trustroot.NewPool(trustroot.Options{
		CacheDir: os.Getenv(EnvTUFCacheDir),
		// The controller's clock is TUF's reference time.
		Now: clk.Now,
		// A repository request gets what a registry request gets; a verdict
		// waits no longer than the run's registry-timeout for a root
		// (pkg/verify bounds each lookup with it).
		Timeout: defaults.RegistryTimeout,
		Log:     logger.Named("trustroot").Infow,
	})
	if err != nil {
		return nil, err
	}
	go func() {
		<-ctx.Done()
		_ = p.Close()
	}()
	return p, nil
}
