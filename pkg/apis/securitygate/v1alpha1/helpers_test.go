package v1alpha1

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPredicateTypes(t *testing.T) {
	tests := []struct {
		typ      string
		want     []string
		wantVuln bool
	}{
		{"vuln", []string{
			"https://cosign.sigstore.dev/attestation/vuln/v1",
			"cosign.sigstore.dev/attestation/vuln/v1",
			"https://grype.anchore.io/scan",
			"https://in-toto.io/attestation/vulns",
			"https://in-toto.io/attestation/vulns/v0.1",
			"https://in-toto.io/attestation/vulns/v0.2",
		}, true},
		{"slsaprovenance", []string{"https://slsa.dev/provenance/v0.2"}, false},
		{"slsaprovenance1", []string{"https://slsa.dev/provenance/v1"}, false},
		{"https://cosign.sigstore.dev/attestation/vuln/v1", []string{"https://cosign.sigstore.dev/attestation/vuln/v1"}, true},
		{"https://example.com/custom/v1", []string{"https://example.com/custom/v1"}, false},
	}
	for _, tt := range tests {
		a := &AttestationPolicy{Type: tt.typ}
		if d := cmp.Diff(tt.want, a.PredicateTypes()); d != "" {
			t.Errorf("PredicateTypes(%q) (-want +got):\n%s", tt.typ, d)
		}
		if got := a.IsVulnerabilityType(); got != tt.wantVuln {
			t.Errorf("IsVulnerabilityType(%q) = %v, want %v", tt.typ, got, tt.wantVuln)
		}
	}
	// The returned slice is a copy: callers may not change the mapping.
	a := &AttestationPolicy{Type: "vuln"}
	a.PredicateTypes()[0] = "x"
	if a.PredicateTypes()[0] == "x" {
		t.Fatal("PredicateTypes returned the package's own slice")
	}
}

func TestIsPredicateURI(t *testing.T) {
	for in, want := range map[string]bool{
		"https://slsa.dev/provenance/v1":          true,
		"cosign.sigstore.dev/attestation/vuln/v1": true,
		"urn:example:predicate":                   true,
		"example.com/p":                           true,
		"https://":                                false,
		"example.com":                             false,
		"example/p":                               false,
		"exa mple.com/p":                          false,
		"EXAMPLE..com/p":                          false,
		"vuln2":                                   false,
		"/just/a/path":                            false,
	} {
		if got := isPredicateURI(in); got != want {
			t.Errorf("isPredicateURI(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMatchRegexpWhole(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
		wantErr    bool
	}{
		{`https://github\.com/acme/.+`, "https://github.com/acme/repo", true, false},
		{`acme`, "evil-acme-fork", false, false},
		{`a|b`, "ab", false, false}, // alternation is anchored as a whole
		{`a|b`, "b", true, false},
		{`^a$`, "a", true, false},
		{`(`, "(", false, true},
	}
	for _, tt := range tests {
		got, err := MatchRegexpWhole(tt.pattern, tt.s)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("MatchRegexpWhole(%q, %q) = %v, %v; want %v, err %v", tt.pattern, tt.s, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestGlobs(t *testing.T) {
	tests := []struct {
		patterns []string
		repo     string
		want     bool
	}{
		{[]string{"registry.example.com/tools/*"}, "registry.example.com/tools/kaniko", true},
		{[]string{"registry.example.com/tools/*"}, "registry.example.com/tools/a/b", false},
		{[]string{"registry.example.com/app*"}, "registry.example.com/app-web", true},
		{[]string{"["}, "[", false}, // a bad pattern never matches
		{nil, "anything", false},
	}
	for _, tt := range tests {
		if got := MatchAnyGlob(tt.patterns, tt.repo); got != tt.want {
			t.Errorf("MatchAnyGlob(%q, %q) = %v, want %v", tt.patterns, tt.repo, got, tt.want)
		}
	}
	if (*ImagePolicy)(nil).Excludes("x") {
		t.Error("a nil ImagePolicy excludes nothing")
	}
	p := &ImagePolicy{Exclude: []string{"r/*"}}
	if !p.Excludes("r/a") || p.Excludes("s/a") {
		t.Error("ImagePolicy.Excludes does not follow its globs")
	}
}

func TestParseExpiry(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2027-01-31", time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), false},
		{"2027-01-31T10:00:00Z", time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC), false},
		{"2027-01-31T10:00:00+02:00", time.Date(2027, 1, 31, 8, 0, 0, 0, time.UTC), false},
		{"2027-02-30", time.Time{}, true},
		{"31/01/2027", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseExpiry(tt.in)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestExceptionActiveAndAppliesTo(t *testing.T) {
	e := &VulnerabilityException{ID: "CVE-1", Expires: "2027-01-31", Reason: "r", Images: []string{"reg/app*"}}
	for now, want := range map[string]bool{
		"2027-01-31T23:59:59Z": true,
		"2027-02-01T00:00:00Z": false,
		"2026-01-01T00:00:00Z": true,
	} {
		n, _ := time.Parse(time.RFC3339, now)
		if got := e.ActiveAt(n); got != want {
			t.Errorf("ActiveAt(%s) = %v, want %v", now, got, want)
		}
	}
	if (&VulnerabilityException{Expires: "soon"}).ActiveAt(time.Time{}) {
		t.Error("an unparseable expiry must never be active")
	}
	if !e.AppliesTo("reg/app-web") || e.AppliesTo("reg/other") {
		t.Error("AppliesTo does not follow images")
	}
	if !(&VulnerabilityException{}).AppliesTo("any/repo") {
		t.Error("an exception without images applies to every image")
	}
}

func TestMaxAgeDuration(t *testing.T) {
	attestation := func(s string) (time.Duration, error) { return (&AttestationPolicy{MaxAge: s}).MaxAgeDuration() }
	// A summary's maxAge has no "no limit": empty is an error.
	summary := func(s string) (time.Duration, error) { return (&AcceptSummariesPolicy{MaxAge: s}).MaxAgeDuration() }
	tests := []struct {
		of      string
		parse   func(string) (time.Duration, error)
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"attestation", attestation, "", 0, false},
		{"attestation", attestation, "168h", 168 * time.Hour, false},
		{"attestation", attestation, "1h30m", 90 * time.Minute, false},
		{"attestation", attestation, "0", 0, true},
		{"attestation", attestation, "-5m", 0, true},
		{"attestation", attestation, "7d", 0, true},
		{"summary", summary, "", 0, true},
		{"summary", summary, "24h", 24 * time.Hour, false},
		{"summary", summary, "0s", 0, true},
		{"summary", summary, "-1h", 0, true},
		{"summary", summary, "1d", 0, true},
	}
	for _, tt := range tests {
		got, err := tt.parse(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s MaxAgeDuration(%q) = %v, %v; want %v, err %v", tt.of, tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDenies(t *testing.T) {
	v := &VulnerabilityPolicy{Deny: []string{"CRITICAL", "high"}}
	for sev, want := range map[string]bool{"critical": true, "HIGH": true, "Medium": false, "": false} {
		if got := v.Denies(sev); got != want {
			t.Errorf("Denies(%q) = %v, want %v", sev, got, want)
		}
	}
}

func TestAuthorityLookups(t *testing.T) {
	s := &SecurityGateSpec{
		Authorities: []Authority{{Name: "a"}, {Name: "b"}},
		Images:      &ImagePolicy{Authorities: []string{"a"}},
	}
	if s.Authority("b") != &s.Authorities[1] || s.Authority("c") != nil {
		t.Error("Authority lookup is wrong")
	}
	own := &AttestationPolicy{Authorities: []string{"b"}}
	inherit := &AttestationPolicy{}
	if d := cmp.Diff([]string{"b"}, s.AttestationAuthorities(own)); d != "" {
		t.Error(d)
	}
	if d := cmp.Diff([]string{"a"}, s.AttestationAuthorities(inherit)); d != "" {
		t.Error(d)
	}
	if got := (&SecurityGateSpec{}).AttestationAuthorities(inherit); len(got) != 0 {
		t.Errorf("no images policy: got %v", got)
	}
}

func TestParsePublicKeys(t *testing.T) {
	good := ecdsaPEM(t)
	broken := "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"
	tests := []struct {
		name    string
		data    string
		n       int
		wantErr string
	}{
		{"ecdsa", good, 1, ""},
		{"three keys, surrounding blank lines", "\n" + good + "\n" + ed25519PEM(t) + rsaPKCS1PEM(t) + "\n\n", 3, ""},
		{"empty", "  \n", 0, "no PEM public key found"},
		{"comment before block", "# release key\n" + good, 0, "PEM block 1: text outside a PEM block"},
		{"trailing text", good + "trailing", 0, "PEM block 2: text outside a PEM block"},
		{"broken block before a good one", broken + good, 0, "2 PEM blocks begin but only 1 decode"},
		{"broken block after a good one", good + broken, 0, "PEM block 2: not a valid PEM block"},
		{"certificate", strings.Replace(good, "PUBLIC KEY", "CERTIFICATE", 2), 0, `PEM block 1: type "CERTIFICATE" is not a public key (want PUBLIC KEY)`},
		{"private key", privatePEM(t), 0, `PEM block 1: type "EC PRIVATE KEY" is not a public key (want PUBLIC KEY)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParsePublicKeys(tt.data)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr || len(keys) != tt.n {
				t.Errorf("ParsePublicKeys = %d keys, %q; want %d, %q", len(keys), gotErr, tt.n, tt.wantErr)
			}
		})
	}
}
