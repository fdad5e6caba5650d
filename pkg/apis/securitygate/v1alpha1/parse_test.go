package v1alpha1

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const header = "apiVersion: securitygate.dev/v1alpha1\nkind: ClusterSecurityGate\nmetadata: {name: p}\n"

func TestParsePolicyValid(t *testing.T) {
	full := readTestdata(t, "policy-full.yaml")
	tests := []struct {
		name      string
		in        string
		kind      string
		namespace string
		check     func(t *testing.T, p *Policy)
	}{{
		name: "full example",
		in:   string(full),
		kind: KindClusterSecurityGate,
		check: func(t *testing.T, p *Policy) {
			if len(p.Spec.Authorities) != 2 || p.Spec.Authorities[0].Key == nil || !p.Spec.Authorities[0].IgnoreTlog {
				t.Errorf("authorities not decoded: %+v", p.Spec.Authorities)
			}
			ex := p.Spec.Attestations[0].Vulnerabilities.Exceptions[0]
			if ex.Expires != "2027-01-31" || ex.Images[0] != "registry.example.com/app*" {
				t.Errorf("exception not decoded: %+v", ex)
			}
		},
	}, {
		name: "minimal namespaced policy is defaulted",
		in:   "apiVersion: securitygate.dev/v1alpha1\nkind: SecurityGate\nmetadata: {name: p, namespace: team}\nspec: {}\n",
		kind: KindSecurityGate, namespace: "team",
		check: func(t *testing.T, p *Policy) {
			want := SecurityGateSpec{
				Mode: ModeEnforce, GateOrder: GateOrderEnforce,
				Namespaces:      &NamespacePolicy{Deny: []string{"default"}},
				SecurityContext: &SecurityContextPolicy{Level: LevelRestricted},
			}
			if d := cmp.Diff(want, p.Spec); d != "" {
				t.Errorf("spec (-want +got):\n%s", d)
			}
			if p.String() != "SecurityGate/team/p" {
				t.Errorf("String() = %q", p.String())
			}
		},
	}, {
		name: "JSON",
		in:   `{"apiVersion":"securitygate.dev/v1alpha1","kind":"ClusterSecurityGate","metadata":{"name":"j"},"spec":{"mode":"Warn"}}`,
		kind: KindClusterSecurityGate,
		check: func(t *testing.T, p *Policy) {
			if p.Spec.Mode != ModeWarn || p.String() != "ClusterSecurityGate/j" {
				t.Errorf("got %s mode %s", p, p.Spec.Mode)
			}
		},
	}, {
		name: "unquoted date in expires stays a date",
		in: header + "spec:\n  authorities: [{name: a, keyless: {issuer: i, subject: s}}]\n" +
			"  attestations:\n  - name: v\n    type: vuln\n    authorities: [a]\n    vulnerabilities:\n      exceptions:\n" +
			"      - {id: CVE-1, expires: 2027-01-31, reason: r}\n",
		kind: KindClusterSecurityGate,
		check: func(t *testing.T, p *Policy) {
			if got := p.Spec.Attestations[0].Vulnerabilities.Exceptions[0].Expires; got != "2027-01-31" {
				t.Errorf("expires = %q", got)
			}
		},
	}, {
		name: "empty documents and comments around the policy",
		in:   "# policy\n---\n\n---\n" + header + "spec: {}\n---\n# end\n",
		kind: KindClusterSecurityGate,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			if p.Kind != tt.kind || p.ObjectMeta.Namespace != tt.namespace {
				t.Errorf("kind %q namespace %q, want %q %q", p.Kind, p.ObjectMeta.Namespace, tt.kind, tt.namespace)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the complete error text
		// paths are the field paths the structured error lists, in order
		// (none: a problem of the document as a whole).
		paths []string
	}{{
		name: "empty input",
		in:   "",
		want: "invalid policy: no document found; want one SecurityGate or ClusterSecurityGate",
	}, {
		name: "two policies",
		in:   header + "spec: {}\n---\n" + header + "spec: {}\n",
		want: "invalid policy: 2 documents found; want exactly one SecurityGate or ClusterSecurityGate",
	}, {
		name: "wrong apiVersion",
		in:   "apiVersion: securitygate.dev/v1\nkind: SecurityGate\nspec: {}\n",
		want: `invalid policy: apiVersion "securitygate.dev/v1": want "securitygate.dev/v1alpha1"`,
	}, {
		name: "wrong kind",
		in:   "apiVersion: securitygate.dev/v1alpha1\nkind: Pipeline\nspec: {}\n",
		want: `invalid policy: kind "Pipeline": want SecurityGate or ClusterSecurityGate`,
	}, {
		name: "kind is case-sensitive",
		in:   "apiVersion: securitygate.dev/v1alpha1\nkind: securitygate\nspec: {}\n",
		want: `invalid policy: kind "securitygate": want SecurityGate or ClusterSecurityGate`,
	}, {
		name: "not an object",
		in:   "- a\n- b\n",
		want: "invalid policy: the document is not an object; want one SecurityGate or ClusterSecurityGate",
	}, {
		name: "not YAML",
		in:   "spec: [\n",
		want: "invalid policy: not valid YAML or JSON: yaml: line 1: did not find expected node content",
	}, {
		name:  "missing spec",
		in:    header,
		want:  "invalid policy: ClusterSecurityGate/p: missing field(s): spec",
		paths: []string{"spec"},
	}, {
		name:  "unknown field names its path",
		in:    header + "spec:\n  images:\n    requireDigests: true\n",
		want:  `invalid policy: ClusterSecurityGate/p: unknown field: spec.images.requireDigests`,
		paths: []string{"spec.images.requireDigests"},
	}, {
		name:  "unknown field in a list names its index",
		in:    header + "spec:\n  authorities:\n  - name: a\n    keyless: {issuer: i, subject: s, issuerRegex: x}\n",
		want:  `invalid policy: ClusterSecurityGate/p: unknown field: spec.authorities[0].keyless.issuerRegex`,
		paths: []string{"spec.authorities[0].keyless.issuerRegex"},
	}, {
		name:  "field names are case-sensitive",
		in:    header + "spec:\n  Mode: Warn\n",
		want:  `invalid policy: ClusterSecurityGate/p: unknown field: spec.Mode`,
		paths: []string{"spec.Mode"},
	}, {
		name:  "every unknown field, one problem each",
		in:    header + "spec:\n  Mode: Warn\n  images: {requireDigests: true}\n",
		want:  "invalid policy: ClusterSecurityGate/p: unknown field: spec.Mode, spec.images.requireDigests",
		paths: []string{"spec.Mode", "spec.images.requireDigests"},
	}, {
		name:  "unknown fields and invalid values, all listed",
		in:    header + "spec:\n  mode: Block\n  images: {requireDigests: true}\n",
		want:  "invalid policy: ClusterSecurityGate/p:\ninvalid value: Block: spec.mode; allowed: Enforce, Warn\nunknown field: spec.images.requireDigests",
		paths: []string{"spec.mode", "spec.images.requireDigests"},
	}, {
		name: "duplicate field",
		in:   `{"apiVersion":"securitygate.dev/v1alpha1","kind":"SecurityGate","metadata":{"name":"d"},"spec":{"mode":"Warn","mode":"Enforce"}}`,
		want: `invalid policy: not valid YAML or JSON: yaml: unmarshal errors:` + "\n" + `  line 1: key "mode" already set in map`,
	}, {
		name: "wrong type",
		in:   header + "spec:\n  images:\n    requireDigest: yes please\n",
		want: "invalid policy: cannot decode policy: json: cannot unmarshal string into Go struct field ImagePolicy.spec.images.requireDigest of type bool",
	}, {
		name: "validation errors are listed with spec paths, one line each",
		in:   header + "spec:\n  mode: Block\n  images: {authorities: [nobody]}\n",
		want: "invalid policy: ClusterSecurityGate/p:\ninvalid value: Block: spec.mode; allowed: Enforce, Warn\n" +
			"invalid value: nobody: spec.images.authorities[0]; unknown authority; defined: none (spec.authorities is empty)",
		paths: []string{"spec.mode", "spec.images.authorities[0]"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParsePolicy = %+v, want error %q", p, tt.want)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error does not wrap ErrInvalidPolicy: %v", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("ParsePolicy:\n got: %q\nwant: %q", got, tt.want)
			}
			var ipe *InvalidPolicyError
			if !errors.As(err, &ipe) {
				t.Fatalf("error %T is not an *InvalidPolicyError", err)
			}
			var paths []string
			for _, fe := range ipe.Fields.WrappedErrors() {
				paths = append(paths, fe.Paths...)
			}
			if d := cmp.Diff(tt.paths, paths, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("field paths (-want +got):\n%s", d)
			}
		})
	}
}

// Problems gives each problem as a whole message naming the policy: what
// renderers show as one finding each, without reading the error's text.
func TestInvalidPolicyErrorProblems(t *testing.T) {
	_, err := ParsePolicy([]byte(header + "spec:\n  mode: Block\n  authorities: [{keyless: {issuer: i, subject: s}}, {name: b}]\n"))
	var ipe *InvalidPolicyError
	if !errors.As(err, &ipe) {
		t.Fatalf("error %v is not an *InvalidPolicyError", err)
	}
	want := []string{
		"invalid policy: ClusterSecurityGate/p: expected exactly one, got neither: spec.authorities[1].key, spec.authorities[1].keyless",
		"invalid policy: ClusterSecurityGate/p: invalid value: Block: spec.mode; allowed: Enforce, Warn",
		"invalid policy: ClusterSecurityGate/p: missing field(s): spec.authorities[0].name",
	}
	if d := cmp.Diff(want, ipe.Problems()); d != "" {
		t.Errorf("Problems (-want +got):\n%s", d)
	}
	whole := &InvalidPolicyError{Reason: "2 documents found"}
	if d := cmp.Diff([]string{"invalid policy: 2 documents found"}, whole.Problems()); d != "" {
		t.Errorf("a document problem (-want +got):\n%s", d)
	}
}

// An inline spec (a CustomRun's customSpec) is read by the same strict
// decoder as a policy document: duplicate, unknown and miscased fields are
// errors with their paths, then defaults and validation apply.
func TestDecodeSpec(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		in    string
		want  string // error text; empty: valid
		paths []string
		check func(t *testing.T, s *SecurityGateSpec)
	}{{
		name: "valid JSON, defaulted",
		in:   `{"mode":"Warn"}`,
		check: func(t *testing.T, s *SecurityGateSpec) {
			if s.Mode != ModeWarn || s.GateOrder != GateOrderEnforce || s.SecurityContext.Level != LevelRestricted {
				t.Errorf("spec not defaulted: %+v", s)
			}
		},
	}, {
		name: "duplicate field",
		in:   `{"mode":"Warn","mode":"Enforce"}`,
		want: "invalid policy: inline customSpec: not valid YAML or JSON",
	}, {
		name:  "unknown field",
		in:    `{"images":{"requireDigests":true}}`,
		want:  "invalid policy: inline customSpec: unknown field: spec.images.requireDigests",
		paths: []string{"spec.images.requireDigests"},
	}, {
		name:  "field names are case-sensitive",
		in:    `{"Mode":"Warn"}`,
		want:  "invalid policy: inline customSpec: unknown field: spec.Mode",
		paths: []string{"spec.Mode"},
	}, {
		name:  "empty",
		in:    ``,
		want:  "invalid policy: inline customSpec: missing field(s): spec",
		paths: []string{"spec"},
	}, {
		name: "not an object",
		in:   `["Warn"]`,
		want: "invalid policy: inline customSpec: spec is not an object",
	}, {
		name: "wrong type",
		in:   `{"mode":1}`,
		want: "invalid policy: inline customSpec: cannot decode spec: json: cannot unmarshal number into Go struct field SecurityGateSpec.mode of type v1alpha1.Mode",
	}, {
		name:  "unknown field and invalid value, both listed",
		in:    `{"mode":"Block","Mode":"Warn"}`,
		want:  "invalid policy: inline customSpec:\ninvalid value: Block: spec.mode; allowed: Enforce, Warn\nunknown field: spec.Mode",
		paths: []string{"spec.mode", "spec.Mode"},
	}, {
		name:  "invalid",
		in:    `{"mode":"Block"}`,
		want:  "invalid policy: inline customSpec: invalid value: Block: spec.mode; allowed: Enforce, Warn",
		paths: []string{"spec.mode"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSpec(ctx, "inline customSpec", []byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("DecodeSpec: %v", err)
				}
				tt.check(t, s)
				return
			}
			var ipe *InvalidPolicyError
			if !errors.As(err, &ipe) || !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("DecodeSpec = %+v, %v; want an *InvalidPolicyError", s, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n got: %q\nwant: %q…", err, tt.want)
			}
			var paths []string
			for _, fe := range ipe.Fields.WrappedErrors() {
				paths = append(paths, fe.Paths...)
			}
			if d := cmp.Diff(tt.paths, paths, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("field paths (-want +got):\n%s", d)
			}
		})
	}
}

func TestDefaultAndValidateLeavesItsInputAlone(t *testing.T) {
	in := &SecurityGateSpec{Mode: ModeWarn}
	out, err := DefaultAndValidate(context.Background(), "p", in)
	if err != nil {
		t.Fatal(err)
	}
	if in.GateOrder != "" || in.SecurityContext != nil || out.GateOrder != GateOrderEnforce || out == in {
		t.Errorf("input %+v, output %+v: want a defaulted copy and the input unchanged", in, out)
	}
}

// FuzzParsePolicy checks that no input panics and that whatever parses is
// valid and stable under defaulting.
func FuzzParsePolicy(f *testing.F) {
	f.Add(readTestdata(f, "policy-full.yaml"))
	f.Add([]byte(header + "spec: {}\n"))
	f.Add([]byte(header + "spec:\n  authorities:\n  - name: a\n    keyless: {issuerRegExp: '(', subject: s}\n"))
	f.Add([]byte(header + "spec:\n  attestations:\n  - {name: v, type: vuln, maxAge: 1h, vulnerabilities: {exceptions: [{id: x, expires: 2027-01-01, reason: r}]}}\n"))
	f.Add([]byte(`{"apiVersion":"securitygate.dev/v1alpha1","kind":"SecurityGate","spec":{"namespaces":{"deny":[]}}}`))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("spec: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error does not wrap ErrInvalidPolicy: %v", err)
			}
			return
		}
		if p.Kind != KindSecurityGate && p.Kind != KindClusterSecurityGate {
			t.Fatalf("parsed kind %q", p.Kind)
		}
		if fe := p.Spec.Validate(t.Context()); fe != nil {
			t.Fatalf("parsed policy does not validate: %v", fe)
		}
		again := p.Spec.DeepCopy()
		again.SetDefaults(t.Context())
		if d := cmp.Diff(&p.Spec, again); d != "" {
			t.Fatalf("defaults not idempotent: %s", d)
		}
		if strings.TrimSpace(p.String()) == "" {
			t.Fatal("empty name")
		}
	})
}
