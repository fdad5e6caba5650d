package crd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// vexPolicy is a vuln attestation whose vulnerabilities block holds %s as
// its vex field.
const vexPolicy = signer + "  attestations: [{name: v, type: vuln, vulnerabilities: {vex: %s}}]\n"

// summaryPolicy puts %s as images.acceptSummaries.
const summaryPolicy = "  authorities: [{name: a, keyless: {issuer: i, subject: s}}]\n  images: {authorities: [a], acceptSummaries: %s}\n"

const vexDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// invalidVEXAndSummaries are policies both the CRD and Validate must reject
// (the fields of vulnerabilities.vex and images.acceptSummaries).
var invalidVEXAndSummaries = []struct {
	name    string
	spec    string
	goWant  string
	crdWant string
}{
	{"vex without authorities", fmt.Sprintf(vexPolicy, "{}"), "spec.attestations[0].vulnerabilities.vex.authorities", "spec.attestations[0].vulnerabilities.vex.authorities: Required value"},
	{"vex with an empty authority list", fmt.Sprintf(vexPolicy, "{authorities: []}"), "spec.attestations[0].vulnerabilities.vex.authorities", "spec.attestations[0].vulnerabilities.vex.authorities: Invalid value"},
	{"vex with an unknown authority", fmt.Sprintf(vexPolicy, "{authorities: [a, vendor]}"), "spec.attestations[0].vulnerabilities.vex.authorities[1]", "vulnerabilities.vex.authorities: every name must be defined in spec.authorities"},
	{"vex document by tag", fmt.Sprintf(vexPolicy, "{authorities: [a], documents: ['registry.example.com/vex/app:v1']}"), "spec.attestations[0].vulnerabilities.vex.documents[0]", "spec.attestations[0].vulnerabilities.vex.documents[0]: Invalid value"},
	{"vex document by a short digest", fmt.Sprintf(vexPolicy, "{authorities: [a], documents: ['registry.example.com/vex/app@sha256:abc']}"), "spec.attestations[0].vulnerabilities.vex.documents[0]", "spec.attestations[0].vulnerabilities.vex.documents[0]: Invalid value"},
	{"vex document by a sha512 digest", fmt.Sprintf(vexPolicy, "{authorities: [a], documents: ['registry.example.com/vex/app@sha512:"+strings.Repeat("ab", 64)+"']}"), "spec.attestations[0].vulnerabilities.vex.documents[0]", "spec.attestations[0].vulnerabilities.vex.documents[0]: Invalid value"},
	{"vex unknown field", fmt.Sprintf(vexPolicy, "{authorities: [a], statuses: [fixed]}"), "unknown field: spec.attestations[0].vulnerabilities.vex.statuses", "spec.attestations[0].vulnerabilities.vex.statuses: Invalid value: null: unknown field"},
	{"summaries without authorities", fmt.Sprintf(summaryPolicy, "{maxAge: 24h, policies: [{kind: ClusterSecurityGate, name: build}]}"), "spec.images.acceptSummaries.authorities", "spec.images.acceptSummaries.authorities: Required value"},
	{"summaries with an unknown authority", fmt.Sprintf(summaryPolicy, "{authorities: [build-gate], maxAge: 24h, policies: [{kind: ClusterSecurityGate, name: build}]}"), "spec.images.acceptSummaries.authorities[0]", "images.acceptSummaries.authorities: every name must be defined in spec.authorities"},
	{"summaries without maxAge", fmt.Sprintf(summaryPolicy, "{authorities: [a], policies: [{kind: ClusterSecurityGate, name: build}]}"), "spec.images.acceptSummaries.maxAge", "spec.images.acceptSummaries.maxAge: Required value"},
	{"summaries with maxAge in days", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 1d, policies: [{kind: ClusterSecurityGate, name: build}]}"), "spec.images.acceptSummaries.maxAge", "spec.images.acceptSummaries.maxAge"},
	{"summaries with a negative maxAge", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: -1h, policies: [{kind: ClusterSecurityGate, name: build}]}"), "spec.images.acceptSummaries.maxAge", "spec.images.acceptSummaries.maxAge: Invalid value: \"-1h\": a positive Go duration"},
	{"summaries without policies", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 24h}"), "spec.images.acceptSummaries.policies", "spec.images.acceptSummaries.policies: Required value"},
	{"summaries with an empty policy list", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 24h, policies: []}"), "spec.images.acceptSummaries.policies", "spec.images.acceptSummaries.policies: Invalid value"},
	{"summary policy of an unknown kind", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 24h, policies: [{kind: Policy, name: build}]}"), "spec.images.acceptSummaries.policies[0].kind", "spec.images.acceptSummaries.policies[0].kind: Unsupported value"},
	{"summary policy without name", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 24h, policies: [{kind: ClusterSecurityGate}]}"), "spec.images.acceptSummaries.policies[0].name", "spec.images.acceptSummaries.policies[0].name: Required value"},
	{"summary policy with a bad name", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 24h, policies: [{kind: ClusterSecurityGate, name: Build_1}]}"), "spec.images.acceptSummaries.policies[0].name", "spec.images.acceptSummaries.policies[0].name: Invalid value"},
	{"cluster policy with a namespace", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 24h, policies: [{kind: ClusterSecurityGate, name: build, namespace: ci}]}"), "spec.images.acceptSummaries.policies[0].namespace", "spec.images.acceptSummaries.policies[0]: Invalid value: namespace applies only to kind SecurityGate"},
	{"summary policy with a bad namespace", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 24h, policies: [{kind: SecurityGate, name: build, namespace: CI}]}"), "spec.images.acceptSummaries.policies[0].namespace", "spec.images.acceptSummaries.policies[0].namespace: Invalid value"},
	{"summary policy with a bad digest", fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 24h, policies: [{kind: ClusterSecurityGate, name: build, digest: 'sha256:ABC'}]}"), "spec.images.acceptSummaries.policies[0].digest", "spec.images.acceptSummaries.policies[0].digest: Invalid value"},
}

func TestInvalidVEXAndSummaryPoliciesAreRejectedByBoth(t *testing.T) {
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		for _, tt := range invalidVEXAndSummaries {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				doc := document(t, kind, tt.spec)
				rejectedByBoth(t, c, doc, tt.goWant, tt.crdWant)
			})
		}
	}
}

// goOnlyVEX is what the schema's pattern cannot express for a document
// reference: only Validate, which parses it as the registry client will,
// rejects it.
var goOnlyVEX = []struct{ name, spec, goWant string }{
	{"vex document without a registry", fmt.Sprintf(vexPolicy, "{authorities: [a], documents: ['library/vex@"+vexDigest+"']}"), "spec.attestations[0].vulnerabilities.vex.documents[0]"},
	{"vex document in an upper-case repository", fmt.Sprintf(vexPolicy, "{authorities: [a], documents: ['registry.example.com/VEX/app@"+vexDigest+"']}"), "spec.attestations[0].vulnerabilities.vex.documents[0]"},
}

func TestVEXSchemaGapsAreCoveredByValidate(t *testing.T) {
	c := loadCRD(t, crdFiles[v1alpha1.KindClusterSecurityGate])
	for _, tt := range goOnlyVEX {
		t.Run(tt.name, func(t *testing.T) {
			doc := document(t, v1alpha1.KindClusterSecurityGate, tt.spec)
			if _, err := v1alpha1.ParsePolicy(doc); err == nil || !strings.Contains(err.Error(), tt.goWant) {
				t.Errorf("Go validation: got %v, want an error containing %q", err, tt.goWant)
			}
			if errs := c.validate(toMap(t, doc)); len(errs) > 0 {
				t.Errorf("the CRD now rejects this (%v): move the case to invalidVEXAndSummaries", errs.ToAggregate())
			}
		})
	}
}

var validVEXAndSummaries = []struct{ name, spec string }{
	{"vex from attestations only", fmt.Sprintf(vexPolicy, "{authorities: [a]}")},
	{"vex with documents", fmt.Sprintf(vexPolicy, "{authorities: [a], documents: ['registry.example.com/vex/app@"+vexDigest+"', 'localhost:5000/vex@"+vexDigest+"']}")},
	{"vex beside exceptions", signer + "  attestations: [{name: v, type: vuln, vulnerabilities: {deny: [critical], exceptions: [{id: CVE-1, expires: 2027-01-31, reason: r}], vex: {authorities: [a]}}}]\n"},
	{"summaries of cluster and namespaced policies", fmt.Sprintf(summaryPolicy,
		"{authorities: [a], maxAge: 1h30m, policies: [{kind: ClusterSecurityGate, name: build}, {kind: SecurityGate, name: team.build, namespace: ci}, {kind: SecurityGate, name: local, digest: '"+vexDigest+"'}]}")},
}

func TestValidVEXAndSummaryPoliciesAreAcceptedByBoth(t *testing.T) {
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		for _, tt := range validVEXAndSummaries {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				doc := document(t, kind, tt.spec)
				acceptedByBoth(t, c, doc)
			})
		}
	}
}

// TestVEXAndSummaryValuesAgree feeds many values of the fields whose schema
// rule re-implements a Go check to both validators.
func TestVEXAndSummaryValuesAgree(t *testing.T) {
	fields := []struct {
		name, template string
		values         []string
	}{{
		name:     "vex document",
		template: fmt.Sprintf(vexPolicy, "{authorities: [a], documents: [%s]}"),
		values: []string{
			"registry.example.com/vex@" + vexDigest, "localhost:5000/a/b@" + vexDigest, "vex@" + vexDigest,
			"registry.example.com/vex:v1", "registry.example.com/vex@" + strings.ToUpper(vexDigest),
			"registry.example.com/vex@sha256:abc", "@" + vexDigest, "", "registry.example.com/vex@" + vexDigest + "x",
		},
	}, {
		name:     "acceptSummaries maxAge",
		template: fmt.Sprintf(summaryPolicy, "{authorities: [a], policies: [{kind: ClusterSecurityGate, name: b}], maxAge: %s}"),
		values:   []string{"24h", "90m", "1h30m", "0s", "-1m", "1d", "", "x"},
	}, {
		name:     "summary policy name",
		template: fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 1h, policies: [{kind: ClusterSecurityGate, name: %s}]}"),
		values:   []string{"build", "team.build", "b-1", "Build", "-b", "b-", "a_b", "", strings.Repeat("a", 253), strings.Repeat("a", 254)},
	}, {
		name:     "summary policy digest",
		template: fmt.Sprintf(summaryPolicy, "{authorities: [a], maxAge: 1h, policies: [{kind: ClusterSecurityGate, name: b, digest: %s}]}"),
		values:   []string{vexDigest, "sha256:abc", strings.ToUpper(vexDigest), "sha512:" + strings.Repeat("ab", 64), strings.TrimPrefix(vexDigest, "sha256:")},
	}}
	c := loadCRD(t, crdFiles[v1alpha1.KindClusterSecurityGate])
	for _, f := range fields {
		accepted, rejected := 0, 0
		for _, v := range f.values {
			t.Run(fmt.Sprintf("%s=%q", f.name, v), func(t *testing.T) {
				doc := document(t, v1alpha1.KindClusterSecurityGate, fmt.Sprintf(f.template, fmt.Sprintf("%q", v)))
				_, goErr := v1alpha1.ParsePolicy(doc)
				crdErrs := c.validate(toMap(t, doc))
				if (goErr == nil) != (len(crdErrs) == 0) {
					t.Errorf("disagreement on %q:\n  Go:  %v\n  CRD: %v", v, goErr, crdErrs.ToAggregate())
				}
				if goErr == nil {
					accepted++
				} else {
					rejected++
				}
			})
		}
		if accepted == 0 || rejected == 0 {
			t.Errorf("%s: %d values accepted, %d rejected; want both", f.name, accepted, rejected)
		}
	}
}
