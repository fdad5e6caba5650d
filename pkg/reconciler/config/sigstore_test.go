package config

import (
	"strings"
	"testing"
	"time"

	"github.com/security-gate/security-gate/test/fixture"
)

func TestSigstoreKeys(t *testing.T) {
	root := string(fixture.NewTUFRepo(t, func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }, nil).InitialRoot())
	for _, tc := range []struct {
		name       string
		data       map[string]string
		wantMirror string
		wantRoot   bool
		wantErr    string
	}{
		{name: "unset: the public instance", data: nil},
		{name: "a mirror of the public instance", data: map[string]string{KeySigstoreTUFMirror: "http://tuf.sigstore-mirror.svc"},
			wantMirror: "http://tuf.sigstore-mirror.svc"},
		{name: "another instance with its root", data: map[string]string{KeySigstoreTUFMirror: "https://tuf.example.com", KeySigstoreTUFRoot: root},
			wantMirror: "https://tuf.example.com", wantRoot: true},
		{name: "mirror that is not a URL", data: map[string]string{KeySigstoreTUFMirror: "tuf.example.com"}, wantErr: "sigstore-tuf-mirror"},
		{name: "root without mirror", data: map[string]string{KeySigstoreTUFRoot: root}, wantErr: "sigstore-tuf-root is set without sigstore-tuf-mirror"},
		{name: "root that is not a TUF root", data: map[string]string{KeySigstoreTUFMirror: "https://tuf.example.com", KeySigstoreTUFRoot: `{"signed": {}}`},
			wantErr: "sigstore-tuf-root"},
		{name: "root whose signatures do not verify", data: map[string]string{KeySigstoreTUFMirror: "https://tuf.example.com",
			KeySigstoreTUFRoot: strings.Replace(root, `"version":1`, `"version":2`, 1)}, wantErr: "not signed by its own root keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewConfigFromMap(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), Name) {
					t.Fatalf("got %v, want an error naming %s and %q", err, Name, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			src := c.SigstoreTUF()
			switch {
			case tc.wantMirror == "" && src != nil:
				t.Fatalf("SigstoreTUF() = %+v, want nil (the public instance)", src)
			case tc.wantMirror != "" && (src == nil || src.Mirror != tc.wantMirror || (len(src.Root) > 0) != tc.wantRoot):
				t.Fatalf("SigstoreTUF() = %+v, want mirror %s (root given: %t)", src, tc.wantMirror, tc.wantRoot)
			}
		})
	}
}
