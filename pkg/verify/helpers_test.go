package verify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/trustroot"
	"github.com/security-gate/security-gate/test/fixture"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func keyAuthority(name string, pems ...string) v1alpha1.Authority {
	return v1alpha1.Authority{Name: name, Key: &v1alpha1.KeyAuthority{Data: strings.Join(pems, "")}, IgnoreTlog: true}
}

func imagePolicy(auths ...v1alpha1.Authority) *v1alpha1.SecurityGateSpec {
	spec := &v1alpha1.SecurityGateSpec{Authorities: auths, Images: &v1alpha1.ImagePolicy{}}
	for _, a := range auths {
		spec.Images.Authorities = append(spec.Images.Authorities, a.Name)
	}
	return spec
}

type testOpts struct {
	timeout time.Duration
	retries int
	limits  oci.Limits
	cache   *Cache
	roots   *trustroot.Pool
}

func newTestVerifier(t *testing.T, spec *v1alpha1.SecurityGateSpec, o testOpts) *Verifier {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = 5 * time.Second
	}
	if o.retries == 0 {
		o.retries = 2
	}
	c, err := oci.New(oci.Options{Timeout: o.timeout, Retries: o.retries, Backoff: time.Millisecond, Limits: o.limits})
	if err != nil {
		t.Fatal(err)
	}
	if o.cache == nil {
		o.cache = NewCache(100, time.Hour)
	}
	v, err := New(spec, Options{Client: c, Cache: o.cache, Now: func() time.Time { return testNow }, TrustRoots: o.roots, Timeout: o.timeout})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func verifyImage(t *testing.T, v *Verifier, d name.Digest) (gate.ImageResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return v.VerifyImage(ctx, gate.ImageTarget{Ref: d.String(), Digest: d.String()})
}

// expect checks a result: wantChecks lists the check ids of the expected
// violations (empty: verified), wantText a substring of their messages.
func expect(t *testing.T, res gate.ImageResult, err error, wantChecks []string, wantText string) {
	t.Helper()
	if err != nil {
		t.Fatalf("VerifyImage: unexpected error (could not decide): %v", err)
	}
	var got []string
	var msgs []string
	for _, f := range res.Findings {
		if f.Severity == gate.SeverityViolation {
			got = append(got, f.Check)
			msgs = append(msgs, f.Message)
		}
	}
	if strings.Join(got, ",") != strings.Join(wantChecks, ",") {
		t.Fatalf("violations %v, want %v; findings: %+v", got, wantChecks, res.Findings)
	}
	if len(wantChecks) == 0 {
		if !res.Verified {
			t.Fatalf("not verified without violations: %+v", res)
		}
		return
	}
	if res.Verified {
		t.Fatalf("verified despite violations: %+v", res)
	}
	if wantText != "" && !strings.Contains(strings.Join(msgs, "\n"), wantText) {
		t.Fatalf("messages %q do not mention %q", msgs, wantText)
	}
}

// world is one registry with a signing key and helpers.
type world struct {
	reg *fixture.Registry
	key *fixture.Signer
}

func newWorld(t *testing.T, referrers bool) *world {
	return &world{reg: fixture.NewRegistry(t, referrers), key: fixture.NewKey(t)}
}

func (w *world) image(t *testing.T, repo string) name.Digest {
	return fixture.PushRandomImage(t, w.reg.Repo(repo)+":latest")
}

func mustDigest(t *testing.T, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
