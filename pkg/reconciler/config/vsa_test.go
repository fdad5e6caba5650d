package config

import (
	"strings"
	"testing"
)

func TestVSAKeys(t *testing.T) {
	for _, tt := range []struct {
		name string
		data map[string]string
		want VSA
		err  string
	}{
		{"absent: no summaries", nil, VSA{}, ""},
		{"a signing secret", map[string]string{"vsa-signing-secret": "gate-vsa-key", "vsa-layout": "bundle", "vsa-verifier-id": "https://ci.example.com/gate"},
			VSA{SigningSecret: "gate-vsa-key", Layout: "bundle", VerifierID: "https://ci.example.com/gate"}, ""},
		{"empty secret means none", map[string]string{"vsa-signing-secret": ""}, VSA{}, ""},
		{"bad secret name", map[string]string{"vsa-signing-secret": "Gate_Key"}, VSA{}, "vsa-signing-secret"},
		{"unknown layout", map[string]string{"vsa-layout": "oci"}, VSA{}, "vsa-layout"},
		{"verifier id that is no URI", map[string]string{"vsa-verifier-id": "my gate"}, VSA{}, "vsa-verifier-id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewConfigFromMap(tt.data)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error naming %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.VSA != tt.want {
				t.Errorf("got %+v, want %+v", c.VSA, tt.want)
			}
		})
	}
}
