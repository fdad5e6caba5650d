package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/kmeta"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
	"github.com/security-gate/security-gate/pkg/transient"
)

// --taskrun is how the catalog Task finds the run it must verify. The name
// comes from $(context.taskRun.name), which Tekton substitutes from the
// TaskRun object itself; from there the run is found the way Tekton's own
// controllers relate them: the TaskRun's controller ownerReference names
// the PipelineRun, its UID must match, and the pipeline task is the one
// whose TaskRun name (as Tekton names it, taskRunName) is this TaskRun's. Nothing
// is taken from labels, annotations or the pod's environment, all of which
// a pipeline author can set through the PipelineRun's taskRunSpecs.

// ownRunWait bounds how long --taskrun waits for Tekton to record the
// PipelineRun's status.pipelineSpec: Tekton writes it in the same
// reconcile that creates the TaskRun, so the step can start a moment
// before it lands. A variable so tests can shorten the poll.
var (
	ownRunWait     = 30 * time.Second
	ownRunInterval = 500 * time.Millisecond
)

// trustEnv are environment variables that would change which cluster,
// which certificate authorities or which signatures the CLI trusts. In the
// catalog Task the step's environment is partly the pipeline author's
// (taskRunSpecs[].podTemplate.env is appended after the Task's own env and
// wins), so with --taskrun any of them makes the run undecidable instead of
// silently redirecting it.
var (
	trustEnv         = []string{"KUBECONFIG", "SSL_CERT_FILE", "SSL_CERT_DIR", "GODEBUG"}
	trustEnvPrefixes = []string{"COSIGN_", "SIGSTORE_", "TUF_"}
)

// checkTaskRunFlags is check's part for --taskrun: the run and the gate
// task are derived from the TaskRun, so flags naming them are refused.
func (o *verifyOptions) checkTaskRunFlags() error {
	switch {
	case o.pipelineRun != "":
		return usagef("--taskrun and --pipelinerun are alternatives: --taskrun finds the PipelineRun through the TaskRun's ownerReference")
	case len(o.files) > 0:
		return usagef("--taskrun reads the run from the cluster: it cannot be combined with -f")
	case o.gateTask != "":
		return usagef("--gate-task cannot be combined with --taskrun: the gate is the pipeline task whose TaskRun --taskrun names")
	}
	return nil
}

// untrustedEnvironment returns a finding for each variable of trustEnv (or
// with one of trustEnvPrefixes) set to a value in environ. KUBECONFIG is
// allowed when --kubeconfig is given, since the flag takes precedence.
func untrustedEnvironment(o *verifyOptions, environ []string) []gate.Finding {
	var names []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" {
			// Every library involved treats an empty value as unset.
			continue
		}
		bad := false
		for _, n := range trustEnv {
			bad = bad || name == n
		}
		for _, p := range trustEnvPrefixes {
			bad = bad || strings.HasPrefix(name, p)
		}
		if bad && (name != "KUBECONFIG" || o.kubeconfig == "") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var fs []gate.Finding
	for _, n := range names {
		fs = append(fs, gate.Finding{Check: gate.CheckInput, Subject: gate.ObjectSubject("taskrun", "", o.taskRun),
			Message: fmt.Sprintf("environment variable %s is set in the step: it could change which cluster, certificates or signatures the gate trusts "+
				"(a pipeline can set it through taskRunSpecs[].podTemplate.env or a default pod template); the catalog Task refuses to decide with it set", n)})
	}
	return fs
}

// loadTaskRun finds the PipelineRun the TaskRun --taskrun belongs to and
// returns what the engine needs to verify it, and the name of the pipeline
// task that is the gate (the one running this TaskRun).
func loadTaskRun(ctx context.Context, o *verifyOptions, cl *lazyCluster) (gate.Input, gate.Resolver, string, []gate.Finding) {
	subject := gate.ObjectSubject("taskrun", "", o.taskRun)
	fail := func(transient bool, format string, args ...any) (gate.Input, gate.Resolver, string, []gate.Finding) {
		return gate.Input{}, nil, "", []gate.Finding{{Check: gate.CheckInput, Subject: subject, Message: fmt.Sprintf(format, args...), Transient: transient}}
	}
	if fs := untrustedEnvironment(o, os.Environ()); len(fs) > 0 {
		return gate.Input{}, nil, "", fs
	}
	c, err := cl.get()
	if err != nil {
		return fail(false, "%v", err)
	}
	ns := o.namespace
	if ns == "" {
		if ns = c.namespace; c.namespaceErr != nil || ns == "" {
			return fail(false, "cannot tell the namespace; give --namespace: %v", c.namespaceErr)
		}
	}
	subject = gate.ObjectSubject("taskrun", ns, o.taskRun)
	// The clientset behind the Source: TaskRuns are read once, by name, so
	// no lister or informer is needed.
	clients, ok := c.tekton.(*pipelinerunresolver.Clients)
	if !ok || clients.Tekton == nil {
		return fail(false, "cannot read TaskRuns: no Tekton clientset")
	}
	tr, err := clients.Tekton.TektonV1().TaskRuns(ns).Get(ctx, o.taskRun, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fail(false, "TaskRun %s/%s not found: --taskrun must name the TaskRun this step runs in ($(context.taskRun.name))", ns, o.taskRun)
	case apierrors.IsForbidden(err):
		return fail(false, "reading TaskRun %s/%s is forbidden: the service account needs get on taskruns.tekton.dev in namespace %s: %v", ns, o.taskRun, ns, err)
	case err != nil:
		return fail(true, "reading TaskRun %s/%s: %v", ns, o.taskRun, err)
	}
	owner := metav1.GetControllerOf(tr)
	if owner == nil || owner.Kind != pipeline.PipelineRunControllerName || apiGroup(owner.APIVersion) != pipeline.GroupName {
		return fail(false, "TaskRun %s/%s is not controlled by a PipelineRun (metadata.ownerReferences has no controller reference of kind PipelineRun in %s): "+
			"a gate that is not part of a PipelineRun cannot pass", ns, o.taskRun, pipeline.GroupName)
	}
	if owner.UID == "" {
		return fail(false, "TaskRun %s/%s: its controller reference to PipelineRun %s has no uid", ns, o.taskRun, owner.Name)
	}
	in, res, pr, fs := waitOwnRun(ctx, c.tekton, ns, owner.Name, o.images)
	if len(fs) > 0 {
		for i := range fs {
			fs[i].Message = fmt.Sprintf("TaskRun %s/%s belongs to PipelineRun %s: %s", ns, o.taskRun, owner.Name, fs[i].Message)
			fs[i].Subject = subject
		}
		return gate.Input{}, nil, "", fs
	}
	if pr.UID != owner.UID {
		return fail(false, "TaskRun %s/%s belongs to the PipelineRun %s with uid %s, but pipelinerun/%s/%s now has uid %s: the run it belongs to is gone",
			ns, o.taskRun, owner.Name, owner.UID, ns, pr.Name, pr.UID)
	}
	gateTask, err := pipelineTaskOf(pr, tr.Name)
	if err != nil {
		return fail(false, "TaskRun %s/%s: %v", ns, o.taskRun, err)
	}
	return in, res, gateTask, nil
}

// waitOwnRun reads the PipelineRun until Tekton has recorded what it
// resolved (status.pipelineSpec), for at most ownRunWait within ctx.
func waitOwnRun(ctx context.Context, src pipelinerunresolver.Source, ns, name string, images []string) (gate.Input, gate.Resolver, *v1.PipelineRun, []gate.Finding) {
	ctx, cancel := context.WithTimeout(ctx, ownRunWait)
	defer cancel()
	for {
		in, res, err := pipelinerunresolver.ForPipelineRun(ctx, src, ns, name, images)
		pending := errors.Is(err, pipelinerunresolver.ErrPipelineSpecPending) || errors.Is(err, pipelinerunresolver.ErrNotResolvedYet)
		switch {
		case err == nil:
			pr, ok := runOf(in)
			if !ok {
				return gate.Input{}, nil, nil, []gate.Finding{{Check: gate.CheckInput, Message: "the PipelineRun read has no object"}}
			}
			return in, res, pr, nil
		case apierrors.IsNotFound(err):
			return gate.Input{}, nil, nil, []gate.Finding{{Check: gate.CheckInput, Message: fmt.Sprintf("the PipelineRun is gone: %v", err)}}
		case !pending:
			return gate.Input{}, nil, nil, []gate.Finding{{Check: gate.CheckInput, Message: fmt.Sprintf("cannot read the run: %v", err), Transient: transient.Is(err)}}
		}
		t := time.NewTimer(ownRunInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return gate.Input{}, nil, nil, []gate.Finding{{Check: gate.CheckInput, Transient: true,
				Message: fmt.Sprintf("Tekton has not finished resolving the run within %s: %v", ownRunWait, err)}}
		case <-t.C:
		}
	}
}

func runOf(in gate.Input) (*v1.PipelineRun, bool) {
	if len(in.Objects) != 1 {
		return nil, false
	}
	pr, ok := in.Objects[0].(*v1.PipelineRun)
	return pr, ok
}

// pipelineTaskOf returns the pipeline task (tasks or finally) of pr whose
// TaskRun is named trName, by Tekton's own naming: the child reference
// Tekton recorded, or the name it derives from the run and the task.
func pipelineTaskOf(pr *v1.PipelineRun, trName string) (string, error) {
	spec := pr.Status.PipelineSpec
	if spec == nil {
		return "", fmt.Errorf("pipelinerun/%s/%s has no status.pipelineSpec", pr.Namespace, pr.Name)
	}
	var match []string
	for _, list := range [][]v1.PipelineTask{spec.Tasks, spec.Finally} {
		for _, pt := range list {
			if taskRunName(pr.Status.ChildReferences, pt.Name, pr.Name) == trName {
				match = append(match, pt.Name)
			}
		}
	}
	if len(match) != 1 {
		return "", fmt.Errorf("expected exactly one pipeline task of pipelinerun/%s/%s whose TaskRun is %q, found %d %v",
			pr.Namespace, pr.Name, trName, len(match), match)
	}
	return match[0], nil
}

// taskRunName is the name of pipeline task ptName's TaskRun in run prName,
// as Tekton's PipelineRun reconciler names it: the child reference Tekton
// recorded for the task, or the name it derives for a TaskRun not created
// yet. (Tekton keeps this in a reconciler package the CLI does not link;
// taskrun_test.go compares the two.)
func taskRunName(children []v1.ChildStatusReference, ptName, prName string) string {
	for _, c := range children {
		if c.Kind == pipeline.TaskRunControllerName && c.PipelineTaskName == ptName {
			return c.Name
		}
	}
	return kmeta.ChildName(prName, "-"+ptName)
}

func apiGroup(apiVersion string) string {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return ""
	}
	return gv.Group
}
