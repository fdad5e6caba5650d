package gate_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/gate/local"
	"github.com/security-gate/security-gate/pkg/manifest"
)

// objects parses YAML test input with the same reader the CLI uses.
func objects(t *testing.T, yaml string) []runtime.Object {
	t.Helper()
	docs, err := manifest.ParseBytes([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("test input: %v", err)
	}
	return manifest.Objects(docs)
}

// spec returns a defaulted policy after mutate.
func spec(mutate func(s *v1alpha1.SecurityGateSpec)) *v1alpha1.SecurityGateSpec {
	s := &v1alpha1.SecurityGateSpec{}
	if mutate != nil {
		mutate(s)
	}
	s.SetDefaults(context.Background())
	return s
}

// privileged switches the security-context check off, to keep tables of
// other checks small.
func privileged(s *v1alpha1.SecurityGateSpec) {
	s.SecurityContext = &v1alpha1.SecurityContextPolicy{Level: v1alpha1.LevelPrivileged}
}

// verify runs the engine with a local resolver over the input objects
// (unless opts.Resolver is set).
func verify(t *testing.T, s *v1alpha1.SecurityGateSpec, yaml string, opts gate.Options) *gate.Report {
	t.Helper()
	objs := objects(t, yaml)
	if opts.Resolver == nil {
		r, err := local.New(objs)
		if err != nil {
			t.Fatal(err)
		}
		opts.Resolver = r
	}
	return gate.New(opts).Verify(context.Background(), s, gate.Input{Objects: objs})
}

// want is one expected finding: severity, check, exact subject, and a
// substring of the message.
type want struct {
	sev     gate.Severity
	check   string
	subject string
	msg     string
}

func v(check, subject, msg string) want { return want{gate.SeverityViolation, check, subject, msg} }
func w(check, subject, msg string) want { return want{gate.SeverityWarning, check, subject, msg} }
func e(check, subject, msg string) want { return want{gate.SeverityError, check, subject, msg} }

// expect checks that the report holds exactly the wanted findings (each
// matched once, nothing else) and the verdict.
func expect(t *testing.T, rep *gate.Report, verdict gate.Verdict, wants ...want) {
	t.Helper()
	type got struct {
		sev gate.Severity
		f   gate.Finding
	}
	var all []got
	for _, f := range rep.Violations {
		all = append(all, got{gate.SeverityViolation, f})
	}
	for _, f := range rep.Warnings {
		all = append(all, got{gate.SeverityWarning, f})
	}
	for _, f := range rep.Errors {
		all = append(all, got{gate.SeverityError, f})
	}
	used := make([]bool, len(all))
	for _, wn := range wants {
		found := false
		for i, g := range all {
			if used[i] || g.sev != wn.sev || g.f.Check != wn.check || g.f.Subject.String() != wn.subject || !strings.Contains(g.f.Message, wn.msg) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("missing %s %s on %q containing %q", wn.sev, wn.check, wn.subject, wn.msg)
		}
	}
	for i, g := range all {
		if !used[i] {
			t.Errorf("unexpected %s %s on %q: %s", g.sev, g.f.Check, g.f.Subject, g.f.Message)
		}
	}
	if rep.Verdict != verdict {
		t.Errorf("verdict = %s, want %s", rep.Verdict, verdict)
	}
}

// fakeVerifier is an ArtifactVerifier with scripted answers that counts
// calls and the peak of concurrent calls.
type fakeVerifier struct {
	digests    map[string]string // ref → digest; missing: ref is "not found"
	resolveErr map[string]error
	verifyErr  map[string]error          // digest → error
	findings   map[string][]gate.Finding // digest → findings
	bundleFind map[string][]gate.Finding

	mu            sync.Mutex
	resolveCalls  map[string]int
	imageCalls    map[string]int
	bundleCalls   map[string]int
	inFlight, max int32
}

func newFakeVerifier() *fakeVerifier {
	return &fakeVerifier{digests: map[string]string{}, resolveErr: map[string]error{}, verifyErr: map[string]error{},
		findings: map[string][]gate.Finding{}, bundleFind: map[string][]gate.Finding{},
		resolveCalls: map[string]int{}, imageCalls: map[string]int{}, bundleCalls: map[string]int{}}
}

func (f *fakeVerifier) enter() func() {
	n := atomic.AddInt32(&f.inFlight, 1)
	for {
		m := atomic.LoadInt32(&f.max)
		if n <= m || atomic.CompareAndSwapInt32(&f.max, m, n) {
			break
		}
	}
	return func() { atomic.AddInt32(&f.inFlight, -1) }
}

func (f *fakeVerifier) ResolveDigest(ctx context.Context, ref string) (string, error) {
	defer f.enter()()
	f.mu.Lock()
	f.resolveCalls[ref]++
	f.mu.Unlock()
	if err := f.resolveErr[ref]; err != nil {
		return "", err
	}
	if strings.Contains(ref, "@sha256:") {
		return ref, nil
	}
	d, ok := f.digests[ref]
	if !ok {
		return "", fmt.Errorf("%s: %w", ref, gate.ErrNotFound)
	}
	return d, nil
}

func (f *fakeVerifier) VerifyBundle(ctx context.Context, digestRef string) ([]gate.Finding, error) {
	defer f.enter()()
	f.mu.Lock()
	f.bundleCalls[digestRef]++
	f.mu.Unlock()
	return f.bundleFind[digestRef], f.verifyErr[digestRef]
}

func (f *fakeVerifier) VerifyImage(ctx context.Context, target gate.ImageTarget) (gate.ImageResult, error) {
	defer f.enter()()
	f.mu.Lock()
	f.imageCalls[target.Digest]++
	f.mu.Unlock()
	if err := f.verifyErr[target.Digest]; err != nil {
		return gate.ImageResult{}, err
	}
	fs := f.findings[target.Digest]
	return gate.ImageResult{Findings: fs, Verified: len(fs) == 0}, nil
}

// digest returns a fake sha256 digest reference for repo.
func digest(repo string, b byte) string {
	return repo + "@sha256:" + strings.Repeat(fmt.Sprintf("%02x", b), 32)
}
