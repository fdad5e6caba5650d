//go:build e2e && bench

package controller

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/kmeta"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/test/fixture"
)

// gateTask is the pipeline task that runs the gate; buildTask runs after it.
const (
	gateTask  = "security-gate"
	buildTask = "build"
)

// policySpec trusts key for images and vulnerability scans (no Critical or
// High finding, a week at most) and requires the restricted level: the
// CLI benchmark's policy.
func policySpec(key *fixture.Signer) v1alpha1.SecurityGateSpec {
	return v1alpha1.SecurityGateSpec{
		Mode:        v1alpha1.ModeEnforce,
		Authorities: []v1alpha1.Authority{{Name: "release", Key: &v1alpha1.KeyAuthority{Data: key.PublicPEM}, IgnoreTlog: true}},
		Images:      &v1alpha1.ImagePolicy{RequireDigest: true, Authorities: []string{"release"}},
		Attestations: []v1alpha1.AttestationPolicy{{
			Name: "vulnerability-scan", Type: "vuln", MaxAge: "168h",
			Vulnerabilities: &v1alpha1.VulnerabilityPolicy{Deny: []string{"CRITICAL", "HIGH"}},
		}},
		SecurityContext: &v1alpha1.SecurityContextPolicy{Level: v1alpha1.LevelRestricted},
	}
}

// createClusterPolicy creates the ClusterSecurityGate policyName.
func createClusterPolicy(ctx context.Context, dyn dynamic.Interface, policyName string, spec v1alpha1.SecurityGateSpec) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "securitygate.dev/v1alpha1", "kind": v1alpha1.KindClusterSecurityGate,
		"metadata": map[string]any{"name": policyName}, "spec": m,
	}}
	gvr := schema.GroupVersionResource{Group: "securitygate.dev", Version: "v1alpha1", Resource: "clustersecuritygates"}
	_, err = dyn.Resource(gvr).Create(ctx, u, metav1.CreateOptions{})
	return err
}

// pipelineSpec is a gated pipeline: the gate, then one step with image,
// restricted.
func pipelineSpec(policyName string, image name.Digest) *v1.PipelineSpec {
	return &v1.PipelineSpec{Tasks: []v1.PipelineTask{
		{Name: gateTask, TaskRef: &v1.TaskRef{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.KindClusterSecurityGate, Name: policyName}},
		{Name: buildTask, RunAfter: []string{gateTask}, TaskSpec: &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{
			Steps: []v1.Step{{Name: "compile", Image: image.String(), Script: "true", SecurityContext: fixture.RestrictedSecurityContext()}},
		}}},
	}}
}

// createPipelineRun creates a PipelineRun and records status.pipelineSpec,
// as Tekton does once it has resolved the pipeline.
func createPipelineRun(ctx context.Context, tc tektonclient.Interface, ns, prName string, spec *v1.PipelineSpec) (*v1.PipelineRun, error) {
	pr := &v1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: prName, Namespace: ns},
		Spec:       v1.PipelineRunSpec{PipelineSpec: spec.DeepCopy(), TaskRunTemplate: v1.PipelineTaskRunTemplate{ServiceAccountName: "default"}},
	}
	created, err := tc.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pipelinerun/%s/%s: %w", ns, prName, err)
	}
	created.Status.PipelineSpec = spec.DeepCopy()
	created.Status.StartTime = &metav1.Time{Time: time.Now()}
	updated, err := tc.TektonV1().PipelineRuns(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("recording status.pipelineSpec of pipelinerun/%s/%s: %w", ns, prName, err)
	}
	return updated, nil
}

// gateCustomRun is the CustomRun Tekton creates for pr's gate task: named
// and labelled as Tekton names and labels it, owned by pr.
func gateCustomRun(pr *v1.PipelineRun, policyName string) *v1beta1.CustomRun {
	return &v1beta1.CustomRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:      kmeta.ChildName(pr.Name, "-"+gateTask),
			Namespace: pr.Namespace,
			Labels: map[string]string{
				pipeline.PipelineLabelKey:     pr.Name,
				pipeline.PipelineRunLabelKey:  pr.Name,
				pipeline.PipelineTaskLabelKey: gateTask,
				pipeline.MemberOfLabelKey:     v1.PipelineTasks,
			},
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(pr)},
		},
		Spec: v1beta1.CustomRunSpec{
			CustomRef:          &v1beta1.TaskRef{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.KindClusterSecurityGate, Name: policyName},
			ServiceAccountName: "default",
			Timeout:            &metav1.Duration{Duration: 10 * time.Minute},
		},
	}
}

// decision is how and when one CustomRun ended, as the watch saw it.
type decision struct {
	at      time.Time
	status  corev1.ConditionStatus
	reason  string
	message string
}

// decisions records the first final condition of every CustomRun in a
// namespace, from an informer started before any is created.
type decisions struct {
	mu   sync.Mutex
	done map[string]decision
}

func watchDecisions(ctx context.Context, tc tektonclient.Interface, ns string) (*decisions, error) {
	d := &decisions{done: map[string]decision{}}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return tc.TektonV1beta1().CustomRuns(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return tc.TektonV1beta1().CustomRuns(ns).Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &v1beta1.CustomRun{}, 0, cache.Indexers{})
	seen := func(obj any) {
		cr, ok := obj.(*v1beta1.CustomRun)
		if !ok || !cr.IsDone() {
			return
		}
		now := time.Now()
		c := cr.Status.GetCondition(apis.ConditionSucceeded)
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, ok := d.done[cr.Name]; !ok {
			d.done[cr.Name] = decision{at: now, status: c.Status, reason: c.Reason, message: c.Message}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    seen,
		UpdateFunc: func(_, obj any) { seen(obj) },
	}); err != nil {
		return nil, err
	}
	go inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("the CustomRun informer of namespace %s did not sync", ns)
	}
	return d, nil
}

// count returns how many of names have ended.
func (d *decisions) count(names []string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, nm := range names {
		if _, ok := d.done[nm]; ok {
			n++
		}
	}
	return n
}

func (d *decisions) get(nm string) (decision, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ok := d.done[nm]
	return x, ok
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// cpuTime is the user+system CPU time a process has used so far, from
// /proc/PID/stat (clock ticks of 10 ms).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// selfCPU is this test process's CPU time: the harness's creators and
// informer, and the registry it serves.
func selfCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// apiRequests reads kube-apiserver's request counters (apiserver_request_total)
// by "VERB resource[/subresource]".
func apiRequests(ctx context.Context, rc interface {
	Get() *rest.Request
}) (map[string]float64, error) {
	raw, err := rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading kube-apiserver /metrics: %w", err)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(raw), "\n") {
		tail, ok := strings.CutPrefix(l, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(tail, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		kv := map[string]string{}
		for _, p := range strings.Split(labels, ",") {
			if k, val, ok := strings.Cut(p, "="); ok {
				kv[k] = strings.Trim(val, `"`)
			}
		}
		key := kv["verb"] + " " + kv["resource"]
		if kv["subresource"] != "" {
			key += "/" + kv["subresource"]
		}
		out[key] += v
	}
	return out, nil
}

// requestDelta formats after-before per decision, largest first.
func requestDelta(before, after map[string]float64, decisions int) []string {
	type kv struct {
		k string
		v float64
	}
	var ds []kv
	for k, v := range after {
		if d := v - before[k]; d >= 1 {
			ds = append(ds, kv{k, d})
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].v > ds[j].v || ds[i].v == ds[j].v && ds[i].k < ds[j].k })
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s %.2f", d.k, d.v/float64(decisions)))
	}
	return out
}
