package provenance_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/provenance"
)

// TestRules gives every rule a passing and a failing case, in both SLSA
// versions where the version matters, with bundles verified for real.
func TestRules(t *testing.T) {
	w := newWorld(t)
	off := func(p *v1alpha1.ProvenancePolicy) { p.RunBinding = v1alpha1.ProvenanceOff }
	noCode := func(p *v1alpha1.ProvenancePolicy) { p.TrustedCode = v1alpha1.ProvenanceOff }
	source := func(s v1alpha1.ProvenanceSourcePolicy) func(*v1alpha1.ProvenancePolicy) {
		return func(p *v1alpha1.ProvenancePolicy) { p.Source = &s }
	}
	tests := []struct {
		name   string
		build  build
		policy *v1alpha1.ProvenancePolicy
		run    *provenance.TaskRun // target's TaskRun; nil offline
		want   []provenance.Rule   // violations; empty: a pass
		msg    string              // in a violation message
	}{
		// Every rule met.
		{name: "v1, this run, signed bundle", policy: policy(), run: thisRun()},
		{name: "v0.2 with binding off", build: build{v02: true}, policy: policy(off), run: thisRun()},

		// subject: exactly this digest.
		{name: "subject of another digest", build: build{subject: otherHex}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleSubject}, msg: "not exactly sha256:" + appHex},

		// builder.id in the allowed list.
		{name: "builder not accepted", build: build{builder: "https://ci.example.com/builder"}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleBuilder}, msg: `builder.id "https://ci.example.com/builder"`},
		{name: "v0.2 builder not accepted", build: build{v02: true, builder: "https://tekton.dev/chains/v2 "}, policy: policy(off), run: thisRun(),
			want: []provenance.Rule{provenance.RuleBuilder}},
		{name: "second accepted builder", build: build{builder: "https://ci.example.com/builder"},
			policy: policy(func(p *v1alpha1.ProvenancePolicy) {
				p.BuilderIDs = append(p.BuilderIDs, "https://ci.example.com/builder")
			}), run: thisRun()},

		// Bound to this run.
		{name: "another TaskRun's provenance", build: build{invocationID: "0d9e8f7a-0000-4000-8000-000000000001"}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleRunBinding}, msg: "TaskRun ci/release-42-build (uid " + taskRunID + ")"},
		{name: "v1 without invocationId", build: build{invocationID: "-"}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleRunBinding}, msg: "no runDetails.metadata.invocationId"},
		{name: "v0.2 where binding is required", build: build{v02: true}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleRunBinding}, msg: "set artifacts.taskrun.format to slsa/v2alpha4"},
		{name: "another TaskRun, binding off", build: build{invocationID: "0d9e8f7a-0000-4000-8000-000000000001"}, policy: policy(off), run: thisRun()},
		{name: "offline, v1", policy: policy(), run: nil},
		{name: "offline, v0.2", build: build{v02: true}, policy: policy(), run: nil,
			want: []provenance.Rule{provenance.RuleRunBinding}, msg: "slsa/v2alpha4"},

		// Built from trusted code.
		{name: "v0.2 signed bundle", build: build{v02: true}, policy: policy(off), run: thisRun()},
		{name: "unsigned bundle", build: build{task: w.bundleDep(w.unsigned)}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}, msg: "not signed by spec.bundles.authorities"},
		{name: "v0.2 unsigned bundle", build: build{v02: true, task: w.bundleDep(w.unsigned)}, policy: policy(off), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}, msg: w.unsigned.String()},
		{name: "bundle signed by another key", build: build{task: w.bundleDep(w.foreign)}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}},
		{name: "no task source", build: build{noTask: true}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}, msg: "names no source of the build task"},
		{name: "v0.2 no configSource", build: build{v02: true, noTask: true}, policy: policy(off), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}, msg: "invocation.configSource"},
		{name: "task from git", build: build{task: &dep{uri: "git+https://github.com/acme/tasks.git", digest: map[string]string{"sha1": gitCommit}}}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}, msg: "not an OCI repository"},
		{name: "task from the cluster", build: build{task: &dep{uri: "/apis/tekton.dev/v1/namespaces/ci/tasks/build@" + taskRunID, digest: map[string]string{"sha256": otherHex}}}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}},
		{name: "bundle without a sha256 digest", build: build{task: &dep{uri: w.signed.Context().Name(), digest: map[string]string{"sha512": otherHex}}}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}, msg: "not pinned by a sha256 digest"},
		{name: "step image not pinned", build: build{images: []dep{{uri: "oci://" + w.step.Context().Name(), digest: map[string]string{}}}}, policy: policy(), run: thisRun(),
			want: []provenance.Rule{provenance.RuleTrustedCode}, msg: "not pinned by a sha256 digest"},
		{name: "unsigned bundle, trusted code off", build: build{task: w.bundleDep(w.unsigned)}, policy: policy(noCode), run: thisRun()},

		// Source rules.
		{name: "repository value, Chains' git+ and .git", policy: policy(source(v1alpha1.ProvenanceSourcePolicy{Repository: "https://github.com/acme/app"})), run: thisRun()},
		{name: "repository value written with .git", policy: policy(source(v1alpha1.ProvenanceSourcePolicy{Repository: "https://github.com/acme/app.git", Revision: gitCommit})), run: thisRun()},
		{name: "another repository", build: build{sources: []dep{{uri: "git+https://github.com/evil/app.git", digest: map[string]string{"sha1": gitCommit}}}},
			policy: policy(source(v1alpha1.ProvenanceSourcePolicy{Repository: "https://github.com/acme/app"})), run: thisRun(),
			want: []provenance.Rule{provenance.RuleSource}, msg: `"https://github.com/evil/app"`},
		{name: "pattern is anchored", build: build{sources: []dep{{uri: "git+https://github.com/acme/app-fork.git", digest: map[string]string{"sha1": gitCommit}}}},
			policy: policy(source(v1alpha1.ProvenanceSourcePolicy{RepositoryRegExp: `https://github\.com/acme/app`})), run: thisRun(),
			want: []provenance.Rule{provenance.RuleSource}},
		{name: "pattern matches", policy: policy(source(v1alpha1.ProvenanceSourcePolicy{RepositoryRegExp: `https://github\.com/acme/[a-z]+`, RevisionRegExp: "[0-9a-f]{40}"})), run: thisRun()},
		{name: "another revision", policy: policy(source(v1alpha1.ProvenanceSourcePolicy{Revision: strings.Repeat("f", 40)})), run: thisRun(),
			want: []provenance.Rule{provenance.RuleSource}, msg: `revision "` + gitCommit + `"`},
		{name: "one of two sources elsewhere", build: build{sources: []dep{
			{uri: "git+https://github.com/acme/app.git", digest: map[string]string{"sha1": gitCommit}},
			{uri: "git+https://github.com/evil/lib.git", digest: map[string]string{"sha1": gitCommit}}}},
			policy: policy(source(v1alpha1.ProvenanceSourcePolicy{RepositoryRegExp: `https://github\.com/acme/.+`})), run: thisRun(),
			want: []provenance.Rule{provenance.RuleSource}, msg: "evil/lib"},
		{name: "no source listed", build: build{sources: []dep{}}, policy: policy(source(v1alpha1.ProvenanceSourcePolicy{Repository: "https://github.com/acme/app"})), run: thisRun(),
			want: []provenance.Rule{provenance.RuleSource}, msg: "CHAINS-GIT_URL"},
		{name: "v0.2 source matches", build: build{v02: true}, policy: policy(off, source(v1alpha1.ProvenanceSourcePolicy{Repository: "https://github.com/acme/app", Revision: gitCommit})), run: thisRun()},

		// Several problems are all reported.
		{name: "everything wrong", build: build{builder: "b", invocationID: "x", task: w.bundleDep(w.unsigned), sources: []dep{}},
			policy: policy(source(v1alpha1.ProvenanceSourcePolicy{Repository: "https://github.com/acme/app"})), run: thisRun(),
			want: []provenance.Rule{provenance.RuleBuilder, provenance.RuleRunBinding, provenance.RuleTrustedCode, provenance.RuleSource}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := w.parsed(t, tt.build)
			res := rules(t, tt.policy).Evaluate(context.Background(), st, target(tt.run), w.verify)
			if len(res.Undecided) > 0 {
				t.Fatalf("undecided: %+v", res.Undecided)
			}
			if got := rulesOf(res.Violations); !slices.Equal(got, tt.want) {
				t.Fatalf("violations %v, want %v:\n%+v", got, tt.want, res.Violations)
			}
			if tt.msg != "" && !slices.ContainsFunc(res.Violations, func(f provenance.Finding) bool { return strings.Contains(f.Message, tt.msg) }) {
				t.Errorf("no violation says %q: %+v", tt.msg, res.Violations)
			}
			for _, f := range res.Violations {
				// Every message names the artifact.
				if !strings.Contains(f.Message, target(nil).Artifact) {
					t.Errorf("%s message does not name the artifact: %s", f.Rule, f.Message)
				}
			}
		})
	}
}

// TestOfflineBindingIsANote: with no run to compare, a v1 provenance is
// accepted and the result says which TaskRun it names.
func TestOfflineBindingIsANote(t *testing.T) {
	w := newWorld(t)
	res := rules(t, policy()).Evaluate(context.Background(), w.parsed(t, build{}), target(nil), w.verify)
	if !res.Passed() || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], taskRunID) {
		t.Fatalf("want a pass with a note naming uid %s, got %+v", taskRunID, res)
	}
	res = rules(t, policy()).Evaluate(context.Background(), w.parsed(t, build{}), target(thisRun()), w.verify)
	if len(res.Notes) != 0 {
		t.Errorf("a bound provenance needs no note: %v", res.Notes)
	}
}

// TestBundleThatCannotBeVerifiedIsUndecided: registry trouble while checking
// the build task's bundle is never a pass and never a violation.
func TestBundleThatCannotBeVerifiedIsUndecided(t *testing.T) {
	w := newWorld(t)
	st := w.parsed(t, build{})
	w.down()
	res := rules(t, policy()).Evaluate(context.Background(), st, target(thisRun()), w.verify)
	if res.Passed() || len(res.Violations) > 0 || len(res.Undecided) != 1 || res.Undecided[0].Rule != provenance.RuleTrustedCode {
		t.Fatalf("want one undecided trusted-code finding, got %+v", res)
	}
	// No verifier at all: undecided too, never trusted.
	res = rules(t, policy()).Evaluate(context.Background(), st, target(thisRun()), nil)
	if res.Passed() || len(res.Undecided) != 1 {
		t.Fatalf("nil bundle verifier: want undecided, got %+v", res)
	}
	// With trusted code off the bundle is not consulted.
	if res := rules(t, policy(func(p *v1alpha1.ProvenancePolicy) { p.TrustedCode = v1alpha1.ProvenanceOff })).
		Evaluate(context.Background(), st, target(thisRun()), w.verify); !res.Passed() {
		t.Fatalf("trusted code off: %+v", res)
	}
}

// TestJudge: one statement meeting every rule is enough; none is a
// violation; an undecided one keeps the artifact undecided.
func TestJudge(t *testing.T) {
	w := newWorld(t)
	good := w.parsed(t, build{})
	otherRun := w.parsed(t, build{invocationID: "0d9e8f7a-0000-4000-8000-000000000001"})
	unsigned := w.parsed(t, build{task: w.bundleDep(w.unsigned)})
	r := rules(t, policy())
	ctx := context.Background()

	if res := r.Judge(ctx, []*provenance.Statement{otherRun, good}, target(thisRun()), w.verify); !res.Passed() || res.Provenance != good {
		t.Errorf("another run's provenance beside this run's: want a pass on this run's, got %+v", res)
	}
	res := r.Judge(ctx, []*provenance.Statement{otherRun, unsigned}, target(thisRun()), w.verify)
	if got := rulesOf(res.Violations); !slices.Equal(got, []provenance.Rule{provenance.RuleRunBinding, provenance.RuleTrustedCode}) {
		t.Errorf("two failing provenances: violations %v, want both reasons", got)
	}
	if res := r.Judge(ctx, nil, target(thisRun()), w.verify); len(res.Violations) != 1 || !strings.Contains(res.Violations[0].Message, "no verified SLSA provenance") {
		t.Errorf("no provenance: %+v", res)
	}
	// A fresh registry and verifier: successful verifications are cached.
	w = newWorld(t)
	good, otherRun = w.parsed(t, build{}), w.parsed(t, build{invocationID: "0d9e8f7a-0000-4000-8000-000000000001"})
	w.down()
	res = r.Judge(ctx, []*provenance.Statement{otherRun, good}, target(thisRun()), w.verify)
	if res.Passed() || len(res.Violations) > 0 || len(res.Undecided) == 0 {
		t.Errorf("this run's provenance undecided beside another run's: want undecided only, got %+v", res)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "another provenance") }) {
		t.Errorf("the other provenance's violation should stay visible as a note: %+v", res.Notes)
	}
}

func TestCompile(t *testing.T) {
	if _, err := provenance.Compile(nil); err == nil {
		t.Error("nil policy compiled")
	}
	if _, err := provenance.Compile(&v1alpha1.ProvenancePolicy{}); err == nil || !strings.Contains(err.Error(), "builderIDs") {
		t.Errorf("no builder ids: %v", err)
	}
	if _, err := provenance.Compile(&v1alpha1.ProvenancePolicy{BuilderIDs: []string{"b"}, Source: &v1alpha1.ProvenanceSourcePolicy{RevisionRegExp: "[a-"}}); err == nil || !strings.Contains(err.Error(), "revisionRegExp") {
		t.Errorf("bad regexp: %v", err)
	}
	// Unset rules are the strict reading even without SetDefaults.
	w := newWorld(t)
	r, err := provenance.Compile(&v1alpha1.ProvenancePolicy{BuilderIDs: []string{"https://tekton.dev/chains/v2"}})
	if err != nil {
		t.Fatal(err)
	}
	res := r.Evaluate(context.Background(), w.parsed(t, build{v02: true, task: w.bundleDep(w.unsigned)}), target(thisRun()), w.verify)
	if got := rulesOf(res.Violations); !slices.Equal(got, []provenance.Rule{provenance.RuleRunBinding, provenance.RuleTrustedCode}) {
		t.Errorf("undefaulted policy: violations %v, want run-binding and trusted-code", got)
	}
}
