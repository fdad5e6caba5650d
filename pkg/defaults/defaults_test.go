package defaults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// short writes a duration as the docs do: 10m, 30s, 2m.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDocumentsStateTheDefaults: the README's config-security-gate table,
// its performance notes, the shipped ConfigMap and the architecture notes
// say what this package says.
func TestDocumentsStateTheDefaults(t *testing.T) {
	readme := read(t, "README.md")
	configMap := read(t, "config/config-security-gate.yaml")
	arch := read(t, "docs/architecture.md")
	tests := []struct {
		doc, text, what string
	}{
		{readme, fmt.Sprintf("| `cache-ttl` | `%s` |", short(CacheTTL)), "README config table: cache-ttl"},
		{readme, fmt.Sprintf("| `cache-size` | `%d` |", CacheSize), "README config table: cache-size"},
		{readme, fmt.Sprintf("| `concurrency` | `%d` |", Concurrency), "README config table: concurrency"},
		{readme, fmt.Sprintf("| `registry-timeout` | `%s` |", short(RegistryTimeout)), "README config table: registry-timeout"},
		{readme, fmt.Sprintf("| `retry-backoff-max` | `%s` |", short(RetryBackoffMax)), "README config table: retry-backoff-max"},
		{readme, fmt.Sprintf("(`--concurrency`, default %d)", Concurrency), "README performance: --concurrency"},
		{readme, fmt.Sprintf("Up to %d retries", RegistryRetries), "README performance: retries"},
		{readme, fmt.Sprintf("(default %s) bounds the whole run", short(RunTimeout)), "README performance: --timeout"},
		{configMap, fmt.Sprintf("cache-ttl: %q", short(CacheTTL)), "ConfigMap: cache-ttl"},
		{configMap, fmt.Sprintf("cache-size: \"%d\"", CacheSize), "ConfigMap: cache-size"},
		{configMap, fmt.Sprintf("concurrency: \"%d\"", Concurrency), "ConfigMap: concurrency"},
		{configMap, fmt.Sprintf("registry-timeout: %q", short(RegistryTimeout)), "ConfigMap: registry-timeout"},
		{configMap, fmt.Sprintf("retry-backoff-max: %q", short(RetryBackoffMax)), "ConfigMap: retry-backoff-max"},
		{arch, fmt.Sprintf("`cache-ttl` (%s) and `cache-size` entries (%d)", short(CacheTTL), CacheSize), "architecture: cache"},
		{arch, fmt.Sprintf("`concurrency` (%d)", Concurrency), "architecture: concurrency"},
		{arch, fmt.Sprintf("(`registry-timeout`, %s;", short(RegistryTimeout)), "architecture: registry-timeout"},
	}
	for _, tt := range tests {
		if !strings.Contains(strings.Join(strings.Fields(tt.doc), " "), tt.text) {
			t.Errorf("%s: want the text %q", tt.what, tt.text)
		}
	}
}

func TestShort(t *testing.T) {
	for d, want := range map[time.Duration]string{10 * time.Minute: "10m", 30 * time.Second: "30s", 2 * time.Minute: "2m", 90 * time.Second: "1m30s", time.Hour: "1h"} {
		if got := short(d); got != want {
			t.Errorf("short(%s) = %q, want %q", d, got, want)
		}
	}
}
