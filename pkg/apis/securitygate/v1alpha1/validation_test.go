package v1alpha1

import (
	"context"
	"strings"
	"testing"
)

// validSpec is a policy using every field; each validation case breaks one
// thing in a copy of it.
func validSpec(t testing.TB) *SecurityGateSpec {
	return &SecurityGateSpec{
		Mode: ModeEnforce,
		Authorities: []Authority{{
			Name:       "release",
			Key:        &KeyAuthority{Data: ecdsaPEM(t) + ed25519PEM(t)},
			IgnoreTlog: true,
		}, {
			Name: "ci",
			Keyless: &KeylessAuthority{
				Issuer:        "https://token.actions.githubusercontent.com",
				SubjectRegExp: `^https://github\.com/acme/.+$`,
				TrustedRoot:   &TrustedRoot{Data: `{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`},
			},
		}, {
			Name: "vault",
			Key:  &KeyAuthority{SecretRef: &SecretKeyRef{Name: "cosign-pub", Key: "cosign.pub"}},
		}},
		Namespaces: &NamespacePolicy{Deny: []string{"default", "kube-system"}},
		Bundles:    &BundlePolicy{Required: true, RequireDigest: true, Authorities: []string{"release"}},
		Images: &ImagePolicy{
			RequireDigest: true,
			Authorities:   []string{"release", "ci"},
			Exclude:       []string{"registry.example.com/tools/*", "localhost:5000/x/[a-c]?"},
		},
		Attestations: []AttestationPolicy{{
			Name: "vulnerability-scan", Type: "vuln", Authorities: []string{"release"}, MaxAge: "168h",
			Vulnerabilities: &VulnerabilityPolicy{
				Deny: []string{"critical", "HIGH"},
				Exceptions: []VulnerabilityException{
					{ID: "CVE-2024-0001", Expires: "2027-01-31", Reason: "not reachable"},
					{ID: "CVE-2024-0002", Expires: "2027-01-31T10:00:00Z", Reason: "r", Images: []string{"registry.example.com/app*"}},
				},
			},
		}, {Name: "provenance", Type: "slsaprovenance1"},
			{Name: "uri", Type: "https://example.com/predicate/v1"},
			{Name: "hostpath", Type: "cosign.sigstore.dev/attestation/vuln/v1", Vulnerabilities: &VulnerabilityPolicy{}},
			{Name: "urn", Type: "urn:example:predicate"},
		},
		SecurityContext: &SecurityContextPolicy{Level: LevelBaseline},
		GateOrder:       GateOrderWarn,
	}
}

func TestValidateValid(t *testing.T) {
	for name, s := range map[string]*SecurityGateSpec{
		"full":       validSpec(t),
		"empty":      {},
		"privileged": {SecurityContext: &SecurityContextPolicy{Level: LevelPrivileged}},
		"rsa pkcs1":  {Authorities: []Authority{{Name: "r", Key: &KeyAuthority{Data: rsaPKCS1PEM(t)}}}},
		"issuerRegExp and subject": {Authorities: []Authority{{Name: "k", Keyless: &KeylessAuthority{
			IssuerRegExp: "https://.*", Subject: "me@example.com"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(context.Background()); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			s.SetDefaults(context.Background())
			if err := s.Validate(context.Background()); err != nil {
				t.Fatalf("Validate after SetDefaults: %v", err)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *SecurityGateSpec)
		want   string // the complete error text
	}{{
		name:   "unknown mode",
		mutate: func(s *SecurityGateSpec) { s.Mode = "Audit" },
		want:   "invalid value: Audit: mode\nallowed: Enforce, Warn",
	}, {
		name:   "unknown gateOrder",
		mutate: func(s *SecurityGateSpec) { s.GateOrder = "enforce" },
		want:   "invalid value: enforce: gateOrder\nallowed: Enforce, Warn, Off",
	}, {
		name:   "unknown level",
		mutate: func(s *SecurityGateSpec) { s.SecurityContext.Level = "strict" },
		want:   "invalid value: strict: securityContext.level\nallowed: privileged, baseline, restricted",
	}, {
		name:   "authority without name",
		mutate: func(s *SecurityGateSpec) { s.Authorities[2].Name = "" },
		want:   "missing field(s): authorities[2].name",
	}, {
		name:   "duplicate authority",
		mutate: func(s *SecurityGateSpec) { s.Authorities[2].Name = "release" },
		want:   `duplicate authority name "release" (first at authorities[0]); names must be unique: authorities[2].name`,
	}, {
		name:   "authority with neither key nor keyless",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless = nil },
		want:   "expected exactly one, got neither: authorities[1].key, authorities[1].keyless",
	}, {
		name:   "authority with key and keyless",
		mutate: func(s *SecurityGateSpec) { s.Authorities[0].Keyless = s.Authorities[1].Keyless },
		want:   "expected exactly one, got both: authorities[0].key, authorities[0].keyless",
	}, {
		name:   "key with neither data nor secretRef",
		mutate: func(s *SecurityGateSpec) { s.Authorities[0].Key.Data = "" },
		want:   "expected exactly one, got neither: authorities[0].key.data, authorities[0].key.secretRef",
	}, {
		name:   "key with data and secretRef",
		mutate: func(s *SecurityGateSpec) { s.Authorities[0].Key.SecretRef = &SecretKeyRef{Name: "a", Key: "b"} },
		want:   "expected exactly one, got both: authorities[0].key.data, authorities[0].key.secretRef",
	}, {
		name:   "secretRef without name and key",
		mutate: func(s *SecurityGateSpec) { s.Authorities[2].Key.SecretRef = &SecretKeyRef{} },
		want:   "missing field(s): authorities[2].key.secretRef.key, authorities[2].key.secretRef.name",
	}, {
		name:   "PEM that is not PEM",
		mutate: func(s *SecurityGateSpec) { s.Authorities[0].Key.Data = "ssh-ed25519 AAAA" },
		want:   "invalid value: PEM block 1: text outside a PEM block: authorities[0].key.data\none or more PEM-encoded public keys (-----BEGIN PUBLIC KEY-----)",
	}, {
		name:   "PEM private key",
		mutate: func(s *SecurityGateSpec) { s.Authorities[0].Key.Data = privatePEM(t) },
		want:   `invalid value: PEM block 1: type "EC PRIVATE KEY" is not a public key (want PUBLIC KEY): authorities[0].key.data` + "\none or more PEM-encoded public keys (-----BEGIN PUBLIC KEY-----)",
	}, {
		name: "second PEM block is garbage",
		mutate: func(s *SecurityGateSpec) {
			s.Authorities[0].Key.Data = ecdsaPEM(t) + "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"
		},
		want: "invalid value: PEM block 2: not a valid PEM block: authorities[0].key.data\none or more PEM-encoded public keys (-----BEGIN PUBLIC KEY-----)",
	}, {
		name: "PEM body is not a key",
		mutate: func(s *SecurityGateSpec) {
			s.Authorities[0].Key.Data = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
		},
		want: "invalid value: PEM block 1 (PUBLIC KEY): not a valid public key: authorities[0].key.data\none or more PEM-encoded public keys (-----BEGIN PUBLIC KEY-----)",
	}, {
		name:   "keyless with neither issuer nor issuerRegExp",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless.Issuer = "" },
		want:   "expected exactly one, got neither: authorities[1].keyless.issuer, authorities[1].keyless.issuerRegExp",
	}, {
		name:   "keyless with issuer and issuerRegExp",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless.IssuerRegExp = ".*" },
		want:   "expected exactly one, got both: authorities[1].keyless.issuer, authorities[1].keyless.issuerRegExp",
	}, {
		name:   "keyless with neither subject nor subjectRegExp",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless.SubjectRegExp = "" },
		want:   "expected exactly one, got neither: authorities[1].keyless.subject, authorities[1].keyless.subjectRegExp",
	}, {
		name:   "keyless with subject and subjectRegExp",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless.Subject = "x" },
		want:   "expected exactly one, got both: authorities[1].keyless.subject, authorities[1].keyless.subjectRegExp",
	}, {
		name:   "bad subjectRegExp",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless.SubjectRegExp = "^https://(" },
		want:   "invalid value: ^https://(: authorities[1].keyless.subjectRegExp\na Go (RE2) regular expression, matched against the whole value: error parsing regexp: missing closing ): `^https://(`",
	}, {
		name: "bad issuerRegExp",
		mutate: func(s *SecurityGateSpec) {
			s.Authorities[1].Keyless.Issuer, s.Authorities[1].Keyless.IssuerRegExp = "", "a**"
		},
		want: "invalid value: a**: authorities[1].keyless.issuerRegExp\na Go (RE2) regular expression, matched against the whole value: error parsing regexp: invalid nested repetition operator: `**`",
	}, {
		name:   "trustedRoot not JSON",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless.TrustedRoot.Data = "not json" },
		want:   "invalid value: not a JSON object: authorities[1].keyless.trustedRoot.data\na Sigstore trusted_root.json document",
	}, {
		name:   "trustedRoot JSON but not an object",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless.TrustedRoot.Data = "[1]" },
		want:   "invalid value: not a JSON object: authorities[1].keyless.trustedRoot.data\na Sigstore trusted_root.json document",
	}, {
		name:   "trustedRoot without data",
		mutate: func(s *SecurityGateSpec) { s.Authorities[1].Keyless.TrustedRoot.Data = "" },
		want:   "missing field(s): authorities[1].keyless.trustedRoot.data",
	}, {
		name:   "bad namespace name",
		mutate: func(s *SecurityGateSpec) { s.Namespaces.Deny[1] = "Kube_System" },
		want:   "invalid value: Kube_System: namespaces.deny[1]\na namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
	}, {
		name:   "unknown bundle authority",
		mutate: func(s *SecurityGateSpec) { s.Bundles.Authorities = []string{"release", "relaese"} },
		want:   "invalid value: relaese: bundles.authorities[1]\nunknown authority; defined: ci, release, vault",
	}, {
		name:   "unknown image authority",
		mutate: func(s *SecurityGateSpec) { s.Images.Authorities[0] = "nope" },
		want:   "invalid value: nope: images.authorities[0]\nunknown authority; defined: ci, release, vault",
	}, {
		name: "authority reference with no authorities defined",
		mutate: func(s *SecurityGateSpec) {
			s.Authorities, s.Bundles, s.Attestations = nil, nil, nil
		},
		// knative sorts errors by message.
		want: "invalid value: ci: images.authorities[1]\nunknown authority; defined: none (spec.authorities is empty)\ninvalid value: release: images.authorities[0]\nunknown authority; defined: none (spec.authorities is empty)",
	}, {
		name:   "bad exclude glob",
		mutate: func(s *SecurityGateSpec) { s.Images.Exclude[0] = "registry.example.com/[tools" },
		want:   "invalid value: registry.example.com/[tools: images.exclude[0]\na path.Match glob on the repository (*, ?, [a-z]): syntax error in pattern",
	}, {
		name:   "exclude glob with a tag",
		mutate: func(s *SecurityGateSpec) { s.Images.Exclude[0] = "registry.example.com/tools:v1" },
		want:   "invalid value: registry.example.com/tools:v1: images.exclude[0]\na glob on the repository without tag or digest, e.g. registry.example.com/team/*",
	}, {
		name:   "exclude glob with a digest",
		mutate: func(s *SecurityGateSpec) { s.Images.Exclude[0] = "registry.example.com/tools@sha256:*" },
		want:   "invalid value: registry.example.com/tools@sha256:*: images.exclude[0]\na glob on the repository without tag or digest, e.g. registry.example.com/team/*",
	}, {
		name:   "empty exclude glob",
		mutate: func(s *SecurityGateSpec) { s.Images.Exclude[1] = "" },
		want:   "invalid value: : images.exclude[1]\na non-empty glob",
	}, {
		name:   "attestation without name and type",
		mutate: func(s *SecurityGateSpec) { s.Attestations[1] = AttestationPolicy{} },
		want:   "missing field(s): attestations[1].name, attestations[1].type",
	}, {
		name:   "duplicate attestation",
		mutate: func(s *SecurityGateSpec) { s.Attestations[2].Name = "provenance" },
		want:   `duplicate attestation name "provenance" (first at attestations[1]); names must be unique: attestations[2].name`,
	}, {
		name:   "unknown attestation type",
		mutate: func(s *SecurityGateSpec) { s.Attestations[1].Type = "sbom" },
		want:   "invalid value: sbom: attestations[1].type\nvuln, slsaprovenance, slsaprovenance1, or a predicateType URI such as https://example.com/predicate/v1",
	}, {
		name:   "attestation type with spaces",
		mutate: func(s *SecurityGateSpec) { s.Attestations[1].Type = "https://example.com/a b" },
		want:   "invalid value: https://example.com/a b: attestations[1].type\nvuln, slsaprovenance, slsaprovenance1, or a predicateType URI such as https://example.com/predicate/v1",
	}, {
		name:   "unknown attestation authority",
		mutate: func(s *SecurityGateSpec) { s.Attestations[0].Authorities = []string{"ci", "other"} },
		want:   "invalid value: other: attestations[0].authorities[1]\nunknown authority; defined: ci, release, vault",
	}, {
		name:   "attestations nobody may sign",
		mutate: func(s *SecurityGateSpec) { s.Images = nil },
		want:   "no authority may sign this attestation: set it, or spec.images.authorities: attestations[1].authorities, attestations[2].authorities, attestations[3].authorities, attestations[4].authorities",
	}, {
		name:   "unparseable maxAge",
		mutate: func(s *SecurityGateSpec) { s.Attestations[0].MaxAge = "7d" },
		want:   "invalid value: 7d: attestations[0].maxAge\na positive Go duration such as 168h or 30m",
	}, {
		name:   "zero maxAge",
		mutate: func(s *SecurityGateSpec) { s.Attestations[0].MaxAge = "0s" },
		want:   "invalid value: 0s: attestations[0].maxAge\na positive Go duration such as 168h or 30m",
	}, {
		name:   "negative maxAge",
		mutate: func(s *SecurityGateSpec) { s.Attestations[0].MaxAge = "-1h" },
		want:   "invalid value: -1h: attestations[0].maxAge\na positive Go duration such as 168h or 30m",
	}, {
		name:   "unknown severity",
		mutate: func(s *SecurityGateSpec) { s.Attestations[0].Vulnerabilities.Deny[1] = "SEVERE" },
		want:   "invalid value: SEVERE: attestations[0].vulnerabilities.deny[1]\none of CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE, UNKNOWN (case-insensitive)",
	}, {
		name: "vulnerabilities on a provenance attestation",
		mutate: func(s *SecurityGateSpec) {
			s.Attestations[1].Vulnerabilities = &VulnerabilityPolicy{}
		},
		want: `vulnerabilities applies to vulnerability-scan attestations, not type "slsaprovenance1": attestations[1].vulnerabilities`,
	}, {
		name: "exception without id, expires and reason",
		mutate: func(s *SecurityGateSpec) {
			s.Attestations[0].Vulnerabilities.Exceptions[0] = VulnerabilityException{}
		},
		want: "missing field(s): attestations[0].vulnerabilities.exceptions[0].expires, attestations[0].vulnerabilities.exceptions[0].id, attestations[0].vulnerabilities.exceptions[0].reason",
	}, {
		name:   "exception with unparseable expires",
		mutate: func(s *SecurityGateSpec) { s.Attestations[0].Vulnerabilities.Exceptions[1].Expires = "31/01/2027" },
		want:   "invalid value: 31/01/2027: attestations[0].vulnerabilities.exceptions[1].expires\na date (2006-01-02) or an RFC 3339 time (2006-01-02T15:04:05Z)",
	}, {
		name:   "exception with bad image glob",
		mutate: func(s *SecurityGateSpec) { s.Attestations[0].Vulnerabilities.Exceptions[1].Images[0] = "a/[" },
		want:   "invalid value: a/[: attestations[0].vulnerabilities.exceptions[1].images[0]\na path.Match glob on the repository (*, ?, [a-z]): syntax error in pattern",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec(t)
			tt.mutate(s)
			err := s.Validate(context.Background())
			if err == nil {
				t.Fatalf("Validate: no error, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Validate:\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestValidateKindsPrefixSpec(t *testing.T) {
	spec := SecurityGateSpec{Mode: "x"}
	for name, err := range map[string]error{
		"SecurityGate":        (&SecurityGate{Spec: spec}).Validate(context.Background()),
		"ClusterSecurityGate": (&ClusterSecurityGate{Spec: spec}).Validate(context.Background()),
	} {
		if err == nil || !strings.Contains(err.Error(), ": spec.mode") {
			t.Errorf("%s: got %v, want an error at spec.mode", name, err)
		}
	}
}

func TestValidateNoSecretRefs(t *testing.T) {
	s := validSpec(t)
	err := s.ValidateNoSecretRefs()
	want := "key.secretRef is resolved only by the controller; outside the cluster put the PEM public keys in key.data: authorities[2].key.secretRef"
	if err == nil || err.Error() != want {
		t.Fatalf("ValidateNoSecretRefs:\n got: %v\nwant: %s", err, want)
	}
	s.Authorities = s.Authorities[:2]
	if err := s.ValidateNoSecretRefs(); err != nil {
		t.Fatalf("ValidateNoSecretRefs without secretRef: %v", err)
	}
}
