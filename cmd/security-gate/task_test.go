package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/results"
	"github.com/security-gate/security-gate/test/fixture"
)

func TestSplitArgs(t *testing.T) {
	fs, _, _ := verifyFlagSet(&verifyOptions{})
	tests := []struct {
		name                  string
		args                  []string
		wantFlags, wantImages []string
	}{
		{"flags only", []string{"--policy", "p", "-f=x"}, []string{"--policy", "p", "-f=x"}, nil},
		{"images after --", []string{"--policy=p", "--", "a", "--b", "-"}, []string{"--policy=p"}, []string{"a", "--b", "-"}},
		{"trailing -- (empty array param)", []string{"--policy=p", "--"}, []string{"--policy=p"}, nil},
		{"images between flags", []string{"a", "--policy", "p", "b", "-o", "json", "c"}, []string{"--policy", "p", "-o", "json"}, []string{"a", "b", "c"}},
		{"a flag value that looks like --", []string{"--gate-task", "--", "a", "-o", "json"}, []string{"--gate-task", "--", "-o", "json"}, []string{"a"}},
		{"unknown flag left to Parse", []string{"--bogus", "a"}, []string{"--bogus"}, []string{"a"}},
		{"help", []string{"-h"}, []string{"-h"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags, images := splitArgs(fs, tt.args)
			if !reflect.DeepEqual(flags, tt.wantFlags) || !reflect.DeepEqual(images, tt.wantImages) {
				t.Errorf("splitArgs(%q) = %q, %q; want %q, %q", tt.args, flags, images, tt.wantFlags, tt.wantImages)
			}
		})
	}
}

// TestVerifyImageArguments: an argument is an image exactly like --image,
// wherever it stands.
func TestVerifyImageArguments(t *testing.T) {
	const bad = "Not A Reference"
	pinned := "registry.example.com/app@sha256:" + strings.Repeat("3", 64)
	base := []string{"--policy", p("policy.yaml"), "-f", p("compliant-inline.yaml")}
	_, want, _ := jsonReport(t, nil, append(base, "--image", pinned, "--image", bad)...)
	if want.Verdict != gate.VerdictFail || !strings.Contains(fmt.Sprint(want.Violations), bad) {
		t.Fatalf("--image %q is not a violation: %+v", bad, want)
	}
	for _, args := range [][]string{
		append(base, "--", pinned, bad),
		append([]string{pinned}, append(base, bad)...),
		append(append(base, "--image", pinned), "--", bad),
	} {
		code, got, stderr := jsonReport(t, nil, args...)
		if code != 1 || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: exit %d report %+v\nwant exit 1 and the --image report %+v\n%s", args, code, got, want, stderr)
		}
	}
}

// taskArgs returns the args of the catalog Task's step as the kubelet and
// Tekton would pass them, with the env and params given and the results
// directory moved to resultsDir.
func taskArgs(t *testing.T, vars map[string]string, images []string, resultsDir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "tasks", "security-gate", "0.1", "security-gate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var task v1.Task
	if err := yaml.UnmarshalStrict(data, &task); err != nil {
		t.Fatal(err)
	}
	if len(task.Spec.Steps) != 1 {
		t.Fatalf("the catalog Task has %d steps, want 1", len(task.Spec.Steps))
	}
	var args []string
	for _, a := range task.Spec.Steps[0].Args {
		if a == "$(params.images[*])" {
			args = append(args, images...)
			continue
		}
		for k, v := range vars {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		a = strings.ReplaceAll(a, "/tekton/results", resultsDir)
		if strings.Contains(a, "$(") {
			t.Fatalf("argument %q of the catalog Task is not expanded by this test", a)
		}
		args = append(args, a)
	}
	return args
}

var taskVars = map[string]string{"PIPELINERUN": "release-42", "NAMESPACE": "ci", "PIPELINE_TASK": "gate", "params.policy": "static"}

// TestCatalogTaskArgs runs the CLI with exactly the arguments of the catalog
// Task, against a fake cluster: the Task and the CLI agree on every flag.
func TestCatalogTaskArgs(t *testing.T) {
	cluster := fakeCluster{tekton: []runtime.Object{gatedRun(t, "ci")}, policies: []runtime.Object{clusterPolicy(t, staticPolicy)}}
	pinned := "registry.example.com/app@sha256:" + strings.Repeat("3", 64)
	noRun := map[string]string{}
	for k, v := range taskVars {
		noRun[k] = v
	}
	noRun["PIPELINERUN"], noRun["PIPELINE_TASK"] = "", "" // a TaskRun outside a PipelineRun
	tests := []struct {
		name        string
		vars        map[string]string
		images      []string
		wantCode    int
		wantVerdict string
		wantReport  string
	}{
		{"no images", taskVars, nil, 0, "pass", ""},
		{"pinned image", taskVars, []string{pinned}, 0, "pass", ""},
		{"invalid image", taskVars, []string{pinned, "Not A Reference"}, 1, "fail", gate.CheckImageReference},
		{"not in a PipelineRun", noRun, nil, 2, "error", "--pipelinerun is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := cliCluster(t, cluster, nil, taskArgs(t, tt.vars, tt.images, dir)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			got := readResults(t, dir)
			if got[results.Verdict] != tt.wantVerdict || !strings.Contains(got[results.Report], tt.wantReport) {
				t.Errorf("results %v, want verdict %s and a report mentioning %q", got, tt.wantVerdict, tt.wantReport)
			}
		})
	}
}

// TestCatalogTaskSecretRef is the gatekeeper step end to end in-process:
// the Task's arguments, a ClusterSecurityGate whose key is a Secret in the
// controller's namespace, real signatures in a loopback registry.
func TestCatalogTaskSecretRef(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry")
	}
	reg := fixture.NewRegistry(t, true)
	key, other := fixture.NewKey(t), fixture.NewKey(t)
	step := fixture.PushRandomImage(t, reg.Repo("tools/step")+":v1")
	key.SignClassic(t, step)
	built := fixture.PushRandomImage(t, reg.Repo("app/built")+":v1")
	key.SignClassic(t, built)
	forged := fixture.PushRandomImage(t, reg.Repo("app/forged")+":v1")
	other.SignClassic(t, forged)

	policy := clusterPolicy(t, `apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata: {name: static}
spec:
  authorities:
  - name: release
    key:
      secretRef: {name: cosign-pub, key: cosign.pub}
    ignoreTlog: true
  images:
    requireDigest: true
    authorities: [release]
  securityContext: {level: restricted}
  gateOrder: Enforce
`)
	pub := secret("security-gate", "cosign-pub", map[string]string{"cosign.pub": key.PublicPEM})
	// The attacker's key in the run's namespace must not be trusted.
	decoy := secret("ci", "cosign-pub", map[string]string{"cosign.pub": other.PublicPEM})
	cluster := fakeCluster{tekton: []runtime.Object{gatedRunWith(t, "ci", step.String())}, policies: []runtime.Object{policy},
		secrets: []runtime.Object{pub, decoy}}

	tests := []struct {
		name       string
		images     []string
		wantCode   int
		wantImages []string
	}{
		{"signed", []string{built.String()}, 0, []string{built.String(), step.String()}},
		{"signed by another key", []string{built.String(), forged.String()}, 1, []string{built.String(), step.String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := cliCluster(t, cluster, nil, taskArgs(t, taskVars, tt.images, dir)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			got := readResults(t, dir)
			var imgs []string
			if err := json.Unmarshal([]byte(got[results.VerifiedImages]), &imgs); err != nil {
				t.Fatal(err)
			}
			want := append([]string(nil), tt.wantImages...)
			sort.Strings(want)
			if !reflect.DeepEqual(imgs, want) {
				t.Errorf("verified-images = %q, want %q", imgs, want)
			}
			if tt.wantCode == 1 && !strings.Contains(got[results.Report], forged.Context().String()) {
				t.Errorf("report does not name the forged image: %s", got[results.Report])
			}
		})
	}
}
