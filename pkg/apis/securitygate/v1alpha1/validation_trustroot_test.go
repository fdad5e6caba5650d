package v1alpha1

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

const tufRootJSON = `{"signed": {"_type": "root", "version": 1}, "signatures": []}`

func keylessSpec(k KeylessAuthority) *SecurityGateSpec {
	k.Issuer, k.Subject = "https://token.actions.githubusercontent.com", "https://github.com/acme/app/.github/workflows/release.yaml@refs/tags/v1"
	return &SecurityGateSpec{Authorities: []Authority{{Name: "ci", Keyless: &k}}}
}

func encoded(t *testing.T, files map[string][]byte) string {
	t.Helper()
	s, err := EncodeTUFRepository(files)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tarball builds a repository archive with arbitrary headers (paths the
// encoder would never write).
func tarball(t *testing.T, hdrs ...tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		body := []byte("{}")
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestValidateKeylessTrust(t *testing.T) {
	repo := map[string][]byte{"timestamp.json": []byte("{}"), "1.snapshot.json": []byte("{}")}
	tests := []struct {
		name string
		k    KeylessAuthority
		want string // empty: valid
	}{
		{name: "public instance (neither)", k: KeylessAuthority{}},
		{name: "public instance, signed timestamp required", k: KeylessAuthority{RequireSignedTimestamp: true}},
		{name: "mirror with root", k: KeylessAuthority{TUF: &TUFRepository{Mirror: "https://tuf.example.com/prod", Root: tufRootJSON}}},
		{name: "mirror of the public instance", k: KeylessAuthority{TUF: &TUFRepository{Mirror: "http://tuf-mirror.sigstore-system.svc"}}},
		{name: "serialized repository", k: KeylessAuthority{TUF: &TUFRepository{Repository: encoded(t, repo), Root: tufRootJSON}}},
		{name: "serialized repository wrapped over lines", k: KeylessAuthority{TUF: &TUFRepository{
			Repository: strings.Join(strings.SplitAfterN(encoded(t, repo), "", 3), "\n  ")}}},
		{name: "trustedRoot and tuf", want: "expected exactly one, got both: authorities[0].keyless.trustedRoot, authorities[0].keyless.tuf",
			k: KeylessAuthority{TrustedRoot: &TrustedRoot{Data: "{}"}, TUF: &TUFRepository{Mirror: "https://tuf.example.com"}}},
		{name: "tuf with neither mirror nor repository", k: KeylessAuthority{TUF: &TUFRepository{Root: tufRootJSON}},
			want: "expected exactly one, got neither: authorities[0].keyless.tuf.mirror, authorities[0].keyless.tuf.repository"},
		{name: "tuf with mirror and repository", k: KeylessAuthority{TUF: &TUFRepository{Mirror: "https://tuf.example.com", Repository: encoded(t, repo)}},
			want: "expected exactly one, got both: authorities[0].keyless.tuf.mirror, authorities[0].keyless.tuf.repository"},
		{name: "mirror that is not http", k: KeylessAuthority{TUF: &TUFRepository{Mirror: "file:///etc/tuf"}},
			want: "invalid value: file:///etc/tuf: authorities[0].keyless.tuf.mirror\nthe base URL of a TUF repository: http or https, a host, no credentials, query or fragment"},
		{name: "mirror with credentials", k: KeylessAuthority{TUF: &TUFRepository{Mirror: "https://user:pw@tuf.example.com"}},
			want: "authorities[0].keyless.tuf.mirror"},
		{name: "root that is not a TUF root", k: KeylessAuthority{TUF: &TUFRepository{Mirror: "https://tuf.example.com", Root: `{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`}},
			want: "invalid value: not a TUF root.json: authorities[0].keyless.tuf.root"},
		{name: "repository that is not base64", k: KeylessAuthority{TUF: &TUFRepository{Repository: "not base64!"}},
			want: "invalid value: not base64: illegal base64 data at input byte 9: authorities[0].keyless.tuf.repository"},
		{name: "repository that is not gzip", k: KeylessAuthority{TUF: &TUFRepository{Repository: base64.StdEncoding.EncodeToString([]byte("plain"))}},
			want: "invalid value: not a gzip-compressed tar"},
		{name: "repository without timestamp.json", k: KeylessAuthority{TUF: &TUFRepository{Repository: encoded(t, map[string][]byte{"1.root.json": []byte("{}")})}},
			want: "no timestamp.json"},
		{name: "repository path leaving the repository", k: KeylessAuthority{TUF: &TUFRepository{Repository: tarball(t,
			tar.Header{Name: "timestamp.json", Typeflag: tar.TypeReg, Mode: 0o644}, tar.Header{Name: "../../etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644})}},
			want: `"../../etc/passwd" is outside the repository`},
		{name: "repository with a symlink", k: KeylessAuthority{TUF: &TUFRepository{Repository: tarball(t,
			tar.Header{Name: "timestamp.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})}},
			want: `"timestamp.json" is not a regular file`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := keylessSpec(tc.k).Validate(context.Background())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

func TestTUFRepositoryRoundTrip(t *testing.T) {
	files := map[string][]byte{
		"2.root.json":    []byte(`{"v": 2}`),
		"timestamp.json": []byte(`{"t": 1}`),
		"targets/" + strings.Repeat("ab", 32) + ".trusted_root.json": []byte(`{"mediaType": "x"}`),
	}
	got, err := (&TUFRepository{Repository: encoded(t, files)}).Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(files) {
		t.Fatalf("got %d files, want %d", len(got), len(files))
	}
	for name, b := range files {
		if string(got[name]) != string(b) {
			t.Errorf("%s: got %q, want %q", name, got[name], b)
		}
	}
}
