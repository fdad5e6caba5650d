package config

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/configmap"

	"github.com/security-gate/security-gate/pkg/defaults"
)

// Name is the ConfigMap's name in the controller's namespace.
const Name = "config-security-gate"

// Keys of the ConfigMap.
const (
	KeyAllowNamespacedPolicies = "allow-namespaced-policies"
	KeyAllowInlinePolicies     = "allow-inline-policies"
	KeyCacheTTL                = "cache-ttl"
	KeyCacheSize               = "cache-size"
	KeyConcurrency             = "concurrency"
	KeyRegistryTimeout         = "registry-timeout"
	KeyRetryBackoffMax         = "retry-backoff-max"
)

// Config is the parsed config-security-gate.
type Config struct {
	// AllowNamespacedPolicies lets a gate run select a SecurityGate in its
	// own namespace. Off by default: whoever can write a namespace could
	// otherwise write the policy that judges their own pipelines.
	AllowNamespacedPolicies bool
	// AllowInlinePolicies lets a gate run carry its policy in customSpec
	// (the pipeline author's choice). Off by default, for the same reason.
	AllowInlinePolicies bool
	// CacheTTL and CacheSize bound the verification cache shared by runs.
	CacheTTL  time.Duration
	CacheSize int
	// Concurrency bounds parallel registry verifications within one run.
	Concurrency int
	// RegistryTimeout is the budget of one registry request, its retries
	// and body read included (pkg/oci), never past the attempt's deadline.
	// A run without its own timeout gets ten of them per attempt; the run's
	// timeout bounds all attempts together.
	RegistryTimeout time.Duration
	// RetryBackoffMax caps the delay between attempts after a transient error.
	RetryBackoffMax time.Duration
	// SigstoreTUFMirror and SigstoreTUFRoot replace the public Sigstore
	// instance's TUF repository and initial root for keyless authorities
	// without a root of their own (sigstore.go).
	SigstoreTUFMirror string
	SigstoreTUFRoot   []byte
	// VSA says whether and how verification summaries are written (vsa.go).
	VSA VSA
}

// Default returns the configuration used when the ConfigMap is absent:
// every bound from pkg/defaults.
func Default() *Config {
	return &Config{
		CacheTTL:        defaults.CacheTTL,
		CacheSize:       defaults.CacheSize,
		Concurrency:     defaults.Concurrency,
		RegistryTimeout: defaults.RegistryTimeout,
		RetryBackoffMax: defaults.RetryBackoffMax,
	}
}

// NewConfigFromMap parses the ConfigMap's data. Unknown keys are ignored
// (forward compatibility); a malformed value is an error naming the key, so
// a typo never silently opens the policy boundary.
func NewConfigFromMap(data map[string]string) (*Config, error) {
	c := Default()
	for _, b := range []struct {
		key string
		dst *bool
	}{{KeyAllowNamespacedPolicies, &c.AllowNamespacedPolicies}, {KeyAllowInlinePolicies, &c.AllowInlinePolicies}} {
		if v, ok := data[b.key]; ok {
			p, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %q is not a boolean (want true or false)", Name, b.key, v)
			}
			*b.dst = p
		}
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{KeyCacheTTL, &c.CacheTTL}, {KeyRegistryTimeout, &c.RegistryTimeout}, {KeyRetryBackoffMax, &c.RetryBackoffMax}} {
		if v, ok := data[d.key]; ok {
			p, err := time.ParseDuration(v)
			if err != nil || p <= 0 {
				return nil, fmt.Errorf("%s: %s: %q is not a positive duration (e.g. 30s, 10m)", Name, d.key, v)
			}
			*d.dst = p
		}
	}
	for _, n := range []struct {
		key string
		dst *int
	}{{KeyCacheSize, &c.CacheSize}, {KeyConcurrency, &c.Concurrency}} {
		if v, ok := data[n.key]; ok {
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 {
				return nil, fmt.Errorf("%s: %s: %q is not a positive integer", Name, n.key, v)
			}
			*n.dst = p
		}
	}
	if err := parseSigstore(c, data); err != nil {
		return nil, err
	}
	if err := parseVSA(c, data); err != nil {
		return nil, err
	}
	return c, nil
}

// NewConfigFromConfigMap parses the ConfigMap.
func NewConfigFromConfigMap(cm *corev1.ConfigMap) (*Config, error) {
	return NewConfigFromMap(cm.Data)
}

type cfgKey struct{}

// ToContext attaches c to ctx.
func ToContext(ctx context.Context, c *Config) context.Context {
	return context.WithValue(ctx, cfgKey{}, c)
}

// FromContextOrDefaults returns the Config in ctx, or Default.
func FromContextOrDefaults(ctx context.Context) *Config {
	if c, ok := ctx.Value(cfgKey{}).(*Config); ok && c != nil {
		return c
	}
	return Default()
}

// Store watches the ConfigMap and puts its latest valid value into each
// reconcile's context. An invalid update is logged and the previous value
// kept (knative's UntypedStore behaviour).
type Store struct {
	*configmap.UntypedStore
}

// NewStore returns a Store; onAfterStore is called after each change.
func NewStore(logger configmap.Logger, onAfterStore ...func(name string, value interface{})) *Store {
	return &Store{UntypedStore: configmap.NewUntypedStore("security-gate", logger,
		configmap.Constructors{Name: NewConfigFromConfigMap}, onAfterStore...)}
}

// ToContext attaches the current Config to ctx.
func (s *Store) ToContext(ctx context.Context) context.Context {
	if c, ok := s.UntypedLoad(Name).(*Config); ok && c != nil {
		return ToContext(ctx, c)
	}
	return ToContext(ctx, Default())
}
