package version

import "testing"

func TestGet(t *testing.T) {
	tests := []struct {
		name, version, commit string
		wantVersion           string
		wantCommit            string
	}{
		{name: "injected", version: "v1.2.3", commit: "abc123", wantVersion: "v1.2.3", wantCommit: "abc123"},
		// A test binary has no module version and, under `go test`, no VCS
		// stamp: the fallbacks must still give non-empty values.
		{name: "not injected", wantVersion: "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldV, oldC := Version, Commit
			t.Cleanup(func() { Version, Commit = oldV, oldC })
			Version, Commit = tt.version, tt.commit
			got := Get()
			if got.Version != tt.wantVersion {
				t.Errorf("Version = %q, want %q", got.Version, tt.wantVersion)
			}
			if tt.wantCommit != "" && got.Commit != tt.wantCommit {
				t.Errorf("Commit = %q, want %q", got.Commit, tt.wantCommit)
			}
			if got.Commit == "" || got.GoVersion == "" {
				t.Errorf("empty field in %+v", got)
			}
			if String() != got.Version {
				t.Errorf("String() = %q, want %q", String(), got.Version)
			}
		})
	}
}
