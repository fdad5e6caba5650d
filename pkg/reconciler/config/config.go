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
	if err := setFields(data, parseBool, "a boolean (want true or false)",
		field[bool]{KeyAllowNamespacedPolicies, &c.AllowNamespacedPolicies},
		field[bool]{KeyAllowInlinePolicies, &c.AllowInlinePolicies}); err != nil {
		return nil, err
	}
	if err := setFields(data, positiveDuration, "a positive duration (e.g. 30s, 10m)",
		field[time.Duration]{KeyCacheTTL, &c.CacheTTL},
		field[time.Duration]{KeyRegistryTimeout, &c.RegistryTimeout},
		field[time.Duration]{KeyRetryBackoffMax, &c.RetryBackoffMax}); err != nil {
		return nil, err
	}
	if err := setFields(data, positiveInt, "a positive integer",
		field[int]{KeyCacheSize, &c.CacheSize},
		field[int]{KeyConcurrency, &c.Concurrency}); err != nil {
		return nil, err
	}
	if err := parseSigstore(c, data); err != nil {
		return nil, err
	}
	if err := parseVSA(c, data); err != nil {
		return nil, err
	}
	return c, nil
}

// field is a ConfigMap key and where its parsed value goes.
type field[T any] struct {
	key string
	dst *T
}

// setFields parses the value of each field's key that data has; a value
// parse refuses is an error naming the key and what it should be.
func setFields[T any](data map[string]string, parse func(string) (T, bool), want string, fields ...field[T]) error {
	for _, f := range fields {
		v, ok := data[f.key]
		if !ok {
			continue
		}
		p, ok := parse(v)
		if !ok {
			return fmt.Errorf("%s: %s: %q is not %s", Name, f.key, v, want)
		}
		*f.dst = p
	}
	return nil
}

func parseBool(v string) (bool, bool) {
	b, err := strconv.ParseBool(v)
	return b, err == nil
}

func positiveDuration(v string) (time.Duration, bool) {
	d, err := time.ParseDuration(v)
	return d, err == nil && d > 0
}

func positiveInt(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	return n, err == nil && n > 0
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
