//go:build e2e

package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/test/e2e/framework"
)

// Run 4 gates what a build made: a pre-run gate (ClusterSecurityGate demo),
// a build task that reports the image it built in Chains' type-hinted
// results, Tekton Chains signing that image and attesting its SLSA v1
// provenance, a release gate (ClusterSecurityGate release) that waits for
// Chains and verifies the image and its provenance, bound to the build's
// TaskRun, and deploy, which receives exactly the verified digest.

// releaseTasks is the build task (type-hinted results, step image pinned
// and restricted) in a bundle of its own; deploy comes from the examples'
// tasks bundle.
const releaseTasks = `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: build-image
spec:
  results:
  - name: IMAGE_URL
    description: the repository the image was pushed to (Chains reads it)
  - name: IMAGE_DIGEST
    description: its digest, sha256:… (Chains reads it)
  steps:
  - name: build
    image: REGISTRY/demo/builder@DIGEST_BUILDER
    script: echo "build and push; write IMAGE_URL and IMAGE_DIGEST"
    securityContext:
      runAsNonRoot: true
      runAsUser: 65532
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      seccompProfile: {type: RuntimeDefault}
`

// releasePipeline is the two-gate pipeline.
const releasePipeline = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: build-and-release
spec:
  tasks:
  - name: gate
    taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: demo}
  - name: build
    runAfter: [gate]
    taskRef:
      resolver: bundles
      params:
      - {name: bundle, value: REGISTRY/demo/release-tasks@DIGEST_RELEASE_TASKS}
      - {name: name, value: build-image}
      - {name: kind, value: task}
  - name: release-gate
    runAfter: [build]
    taskRef: {apiVersion: securitygate.dev/v1alpha1, kind: ClusterSecurityGate, name: release}
    params:
    - name: images
      value: ["$(tasks.build.results.IMAGE_URL)@$(tasks.build.results.IMAGE_DIGEST)"]
  - name: deploy
    runAfter: [release-gate]
    params:
    - {name: verified-images, value: $(tasks.release-gate.results.verified-images)}
    taskRef:
      resolver: bundles
      params:
      - {name: bundle, value: REGISTRY/demo/tasks@DIGEST_TASKS}
      - {name: name, value: deploy}
      - {name: kind, value: task}
`

// releasePolicy is the release gate's policy: what the pre-run gate checks
// of bundles and steps, images signed by the team or by Chains, and the
// provenance Chains signed, bound to this run's build TaskRun, from a build
// task in a bundle the team signed.
const releasePolicy = `apiVersion: securitygate.dev/v1alpha1
kind: ClusterSecurityGate
metadata:
  name: release
spec:
  authorities:
  - name: team-key
    key:
      data: |
        PUBLIC_KEY
    ignoreTlog: true
  - name: chains
    key:
      data: |
        CHAINS_PUBLIC_KEY
    ignoreTlog: true
  namespaces: {deny: [default]}
  bundles: {required: true, requireDigest: true, authorities: [team-key]}
  images: {requireDigest: true, authorities: [team-key, chains]}
  securityContext: {level: restricted}
  provenance:
    authorities: [chains]
    builderIDs: [https://tekton.dev/chains/v2]
`

// render substitutes the demo's placeholders (whole words) into a template.
func render(tpl string, vars map[string]string) string {
	lines := strings.Split(tpl, "\n")
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if v, ok := vars[trimmed]; ok && strings.Contains(strings.TrimSpace(v), "\n") {
			indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
			lines[i] = indent + strings.ReplaceAll(strings.TrimSpace(v), "\n", "\n"+indent)
			continue
		}
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		// Longest first: DIGEST_RELEASE_TASKS before DIGEST_TASKS' prefix.
		sort.Slice(keys, func(a, b int) bool { return len(keys[a]) > len(keys[b]) })
		for _, k := range keys {
			l = strings.ReplaceAll(l, k, vars[k])
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// runRelease is run 4: it starts Chains for the demo namespace, publishes
// the release pipeline and policy, runs it, plays the kubelet for the build
// (reporting a freshly pushed image) and for deploy, and checks each gate's
// verdict. It returns the problems found.
func runRelease(ctx context.Context, env *framework.Env, team *cosignCLI, pub *published) []string {
	if err := env.InstallChains(ctx); err != nil {
		return []string{fmt.Sprintf("install Tekton Chains: %v", err)}
	}
	chains, err := env.StartChains(ctx, framework.ChainsOptions{Namespaces: []string{demoNamespace}})
	if err != nil {
		return []string{fmt.Sprintf("start Tekton Chains: %v", err)}
	}
	say("  Tekton Chains v0.26.2 pid %d: taskrun format slsa/v2alpha4, OCI storage, signs with its own cosign key", chains.PID())
	vars := map[string]string{}
	for k, v := range pub.vars {
		vars[k] = v
	}
	vars["CHAINS_PUBLIC_KEY"] = chains.PublicKeyPEM
	ref, err := env.Registry.PushBundle("demo/release-tasks:0.1", render(releaseTasks, vars))
	if err == nil {
		err = team.sign(ctx, ref)
	}
	if err != nil {
		return []string{fmt.Sprintf("publish the build task: %v", err)}
	}
	vars["DIGEST_RELEASE_TASKS"] = digestOf(ref)
	say("  bundle %s (build-image, type-hinted results) pushed and signed", ref)
	pref, err := env.Registry.PushBundle("demo/release-pipeline:0.1", render(releasePipeline, vars))
	if err == nil {
		err = team.sign(ctx, pref)
	}
	if err != nil {
		return []string{fmt.Sprintf("publish the pipeline: %v", err)}
	}
	say("  bundle %s (gate, build, release-gate, deploy) pushed and signed", pref)
	if err := env.ApplyYAML(ctx, render(releasePolicy, vars)); err != nil {
		return []string{fmt.Sprintf("apply ClusterSecurityGate release: %v", err)}
	}
	say("  ClusterSecurityGate release applied (provenance: signed by Chains' key, bound to the build TaskRun)")

	pr := &pipelinev1.PipelineRun{}
	if err := yaml.UnmarshalStrict([]byte(fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: build-and-release, namespace: %s}
spec:
  pipelineRef:
    resolver: bundles
    params:
    - {name: bundle, value: %s}
    - {name: name, value: build-and-release}
    - {name: kind, value: pipeline}
`, demoNamespace, pref)), pr); err != nil {
		return []string{err.Error()}
	}
	if _, err := env.Tekton.TektonV1().PipelineRuns(demoNamespace).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		return []string{fmt.Sprintf("create PipelineRun: %v", err)}
	}
	say("  PipelineRun %s/%s created", demoNamespace, pr.Name)

	pre, err := waitGate(ctx, env, pr.Name, "gate")
	if err != nil {
		return []string{err.Error()}
	}
	printGate("PRE-RUN GATE", pre)
	var p []string
	p = append(p, expectGate(&outcome{gate: pre}, corev1.ConditionTrue, "Passed", gate.VerdictPass)...)
	if len(p) > 0 {
		return p
	}

	// The build: an image pushed (a random one stands in), its Pod
	// completed with the results Chains reads.
	appRef, err := pushRandom(env, "demo/built-app:latest")
	if err != nil {
		return []string{err.Error()}
	}
	app, err := name.NewDigest(appRef)
	if err != nil {
		return []string{err.Error()}
	}
	var build *pipelinev1.TaskRun
	if err := poll(ctx, "the build TaskRun", func(ctx context.Context) (bool, error) {
		l, err := env.Tekton.TektonV1().TaskRuns(demoNamespace).List(ctx, metav1.ListOptions{
			LabelSelector: pipeline.PipelineRunLabelKey + "=" + pr.Name + "," + pipeline.PipelineTaskLabelKey + "=build"})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		build = &l.Items[0]
		return true, nil
	}); err != nil {
		return []string{err.Error()}
	}
	if err := env.CompleteBuildPod(ctx, demoNamespace, build.Name, framework.BuildPod{Now: time.Now(), Results: []framework.TaskResult{
		{Name: "IMAGE_URL", Value: app.Context().Name()}, {Name: "IMAGE_DIGEST", Value: app.DigestStr()},
	}}, bound); err != nil {
		return []string{err.Error()}
	}
	say("  BUILD   TaskRun %s reported IMAGE_URL=%s IMAGE_DIGEST=%s (the demo played the kubelet)", build.Name, app.Context().Name(), app.DigestStr())
	verdict, err := env.ChainsVerdict(ctx, demoNamespace, build.Name, bound)
	if err != nil {
		return []string{fmt.Sprintf("%v\n%s", err, chains.LogTail(20))}
	}
	say("  CHAINS  TaskRun %s annotated chains.tekton.dev/signed=%s; .sig and SLSA .att pushed next to %s", build.Name, verdict, app.Context().Name())

	release, err := waitGate(ctx, env, pr.Name, "release-gate")
	if err != nil {
		return []string{err.Error()}
	}
	o, err := finishRun(ctx, env, pr.Name, release)
	if err != nil {
		return []string{err.Error()}
	}
	printOutcome(o)
	p = append(p, expectGate(o, corev1.ConditionTrue, "Passed", gate.VerdictPass)...)
	if !slices.Equal(o.verified(), []string{app.String()}) {
		p = append(p, fmt.Sprintf("release gate verified-images = %q, want exactly the built image %s", o.verified(), app))
	}
	if rep := o.fullReport(); rep == nil || !slices.ContainsFunc(rep.Notes, func(n gate.Note) bool {
		return n.Check == gate.CheckProvenance && strings.Contains(n.Message, "built by TaskRun "+demoNamespace+"/"+build.Name)
	}) {
		p = append(p, "the release gate's report has no note accepting the provenance of the build TaskRun "+build.Name)
	}
	if d := o.taskRun("deploy"); d == nil {
		p = append(p, "no deploy TaskRun after the release gate passed")
	} else if got := paramOf(d.tr, "verified-images"); !slices.Equal(got, []string{app.String()}) {
		p = append(p, fmt.Sprintf("deploy received verified-images %q, want [%s]", got, app))
	}
	if c := o.pr.Status.GetCondition(apis.ConditionSucceeded); !c.IsTrue() {
		p = append(p, fmt.Sprintf("PipelineRun Succeeded = %v, want True", c))
	}
	return p
}

// waitGate waits for the CustomRun of pipeline task task to be decided.
func waitGate(ctx context.Context, env *framework.Env, pr, task string) (*v1beta1.CustomRun, error) {
	var cr *v1beta1.CustomRun
	sel := metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + pr + "," + pipeline.PipelineTaskLabelKey + "=" + task}
	err := poll(ctx, "the "+task+" CustomRun of "+pr+" to be decided", func(ctx context.Context) (bool, error) {
		l, err := env.Tekton.TektonV1beta1().CustomRuns(demoNamespace).List(ctx, sel)
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		cr = &l.Items[0]
		return cr.IsDone(), nil
	})
	return cr, err
}

// finishRun plays the kubelet for what runs after the release gate and
// returns the run's outcome, with the release gate as its gate.
func finishRun(ctx context.Context, env *framework.Env, prName string, release *v1beta1.CustomRun) (*outcome, error) {
	o := &outcome{file: "(run 4)", gate: release}
	if err := playUntilDone(ctx, env, prName, o); err != nil {
		return nil, err
	}
	trs, err := env.Tekton.TektonV1().TaskRuns(demoNamespace).List(ctx, metav1.ListOptions{LabelSelector: pipeline.PipelineRunLabelKey + "=" + prName})
	if err != nil {
		return nil, err
	}
	for i := range trs.Items {
		o.taskRuns = append(o.taskRuns, taskRunOutcome{tr: &trs.Items[i]})
	}
	return o, nil
}

// printGate shows one gate's verdict, in the form printOutcome uses.
func printGate(label string, cr *v1beta1.CustomRun) {
	c := cr.Status.GetCondition(apis.ConditionSucceeded)
	say("")
	say("  %-7s CustomRun %s -> ClusterSecurityGate %s", label, cr.Name, cr.Spec.CustomRef.Name)
	if c != nil {
		say("          Succeeded=%s  reason=%s", c.Status, c.Reason)
	}
	say("          verdict=%s  violations=%s", result(cr, "verdict"), result(cr, "violations"))
}
