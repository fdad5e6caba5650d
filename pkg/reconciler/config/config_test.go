package config

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewConfigFromMap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    map[string]string
		want    *Config
		wantErr string
	}{{
		name: "empty is the default: only ClusterSecurityGate",
		data: nil,
		want: Default(),
	}, {
		name: "every key",
		data: map[string]string{
			KeyAllowNamespacedPolicies: "true", KeyAllowInlinePolicies: "true",
			KeyCacheTTL: "1m", KeyCacheSize: "5", KeyConcurrency: "2", KeyRegistryTimeout: "3s", KeyRetryBackoffMax: "7s",
		},
		want: &Config{AllowNamespacedPolicies: true, AllowInlinePolicies: true, CacheTTL: time.Minute, CacheSize: 5,
			Concurrency: 2, RegistryTimeout: 3 * time.Second, RetryBackoffMax: 7 * time.Second},
	}, {
		name:    "typo in a boolean never opens the boundary",
		data:    map[string]string{KeyAllowInlinePolicies: "yes please"},
		wantErr: "allow-inline-policies",
	}, {
		name:    "negative duration",
		data:    map[string]string{KeyRegistryTimeout: "-1s"},
		wantErr: "registry-timeout",
	}, {
		name:    "zero concurrency",
		data:    map[string]string{KeyConcurrency: "0"},
		wantErr: "concurrency",
	}, {
		name:    "cache size not a number",
		data:    map[string]string{KeyCacheSize: "big"},
		wantErr: "cache-size",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewConfigFromMap(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("config (-want +got):\n%s", d)
			}
		})
	}
}

func TestContext(t *testing.T) {
	if got := FromContextOrDefaults(context.Background()); got.AllowInlinePolicies || got.AllowNamespacedPolicies {
		t.Errorf("defaults allow more than ClusterSecurityGate: %+v", got)
	}
	c := &Config{AllowInlinePolicies: true}
	if got := FromContextOrDefaults(ToContext(context.Background(), c)); got != c {
		t.Errorf("FromContextOrDefaults = %+v, want %+v", got, c)
	}
}
