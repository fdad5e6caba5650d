package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonv1 "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/typed/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/builds"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/pipelinerunresolver"
)

// With spec.provenance the images a live run's gate receives are build
// outputs: each is traced to the TaskRun of the run that built it, and the
// gate waits, within --timeout, until Tekton Chains has finished with that
// TaskRun, woken by changes to the run's TaskRuns (a watch), not by polling.
// Then the engine judges the provenance bound to that TaskRun. Offline
// (--image without a run) the provenance is judged with no run to bind to.

// chainsWaitShare is the part of --timeout spent waiting for Chains
// (builds.ChainsWaitShare, as in the controller).
const chainsWaitShare = builds.ChainsWaitShare

// checkProvenanceFlag refuses --provenance with a policy that has no
// spec.provenance: asked to judge provenance, the command must not pass
// having judged none.
func checkProvenanceFlag(o *verifyOptions, policy *v1alpha1.Policy) []gate.Finding {
	if !o.provenance || policy.Spec.Provenance != nil {
		return nil
	}
	return []gate.Finding{{Check: gate.CheckPolicy, Subject: gate.TextSubject(policySubject(o)), Message: fmt.Sprintf(
		"usage: --provenance judges each image's SLSA provenance with the policy's spec.provenance rules, but %s has no spec.provenance", policy)}}
}

// addBuilds traces the images of a live run (in.Images) to the TaskRuns
// that built them and waits for Chains, filling in.Builds. gateTask is the
// pipeline task that is the gate (--taskrun): its images param is traced
// through the pipeline's expressions; without it (--pipelinerun) each image
// is looked for among the run's TaskRuns' type-hinted results.
func addBuilds(ctx context.Context, o *verifyOptions, cl *lazyCluster, spec *v1alpha1.SecurityGateSpec, in *gate.Input, gateTask string) []gate.Finding {
	if spec.Provenance == nil || !in.Live || len(in.Images) == 0 {
		return nil
	}
	pr, ok := runOf(*in)
	if !ok {
		return []gate.Finding{{Check: gate.CheckInput, Subject: gate.TextSubject("verification"), Message: "no PipelineRun to trace the images to"}}
	}
	subject := gate.ObjectSubject("pipelinerun", pr.Namespace, pr.Name)
	c, err := cl.get()
	if err != nil {
		return []gate.Finding{{Check: gate.CheckInput, Subject: subject, Message: err.Error()}}
	}
	clients, ok := c.tekton.(*pipelinerunresolver.Clients)
	if !ok || clients.Tekton == nil {
		return []gate.Finding{{Check: gate.CheckInput, Subject: subject, Message: "cannot read TaskRuns: no Tekton clientset"}}
	}
	wait := time.Duration(float64(o.timeout) * chainsWaitShare)
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	bs, fails := waitBuilds(wctx, clients.Tekton.TektonV1().TaskRuns(pr.Namespace), pr, gateTask, in.Images)
	if len(fails) > 0 {
		for i := range fails {
			if fails[i].Subject.IsZero() {
				fails[i].Subject = subject
			}
		}
		return fails
	}
	in.Builds = bs
	return nil
}

// waitBuilds locates the builds of images until none is waiting for its
// TaskRun or for Chains, or ctx ends. At the end, an image Chains has not
// finished with keeps a BuildRun whose Chains state is pending (the engine
// reports it as could-not-decide); an image whose TaskRun could not be
// found in time is returned as an undecided finding.
func waitBuilds(ctx context.Context, trs tektonv1.TaskRunInterface, pr *v1.PipelineRun, gateTask string, images []string) (map[string]*gate.Build, []gate.Finding) {
	sel := labels.Set{pipeline.PipelineRunLabelKey: pr.Name}.String()
	for {
		list, err := trs.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, []gate.Finding{{Check: gate.CheckInput, Transient: true,
				Message: fmt.Sprintf("listing the TaskRuns of the run (needs list on taskruns.tekton.dev): %v", err)}}
		}
		taskRuns := make([]*v1.TaskRun, 0, len(list.Items))
		for i := range list.Items {
			taskRuns = append(taskRuns, &list.Items[i])
		}
		out, waiting := builds.Look(pr, gateTask, pipelineImagesParam, images, taskRuns)
		if len(waiting) == 0 {
			return out, nil
		}
		if err := waitForChange(ctx, trs, sel, list.ResourceVersion); err != nil {
			if ctx.Err() == nil {
				return nil, []gate.Finding{{Check: gate.CheckInput, Transient: true,
					Message: fmt.Sprintf("watching the TaskRuns of the run (needs watch on taskruns.tekton.dev): %v", err)}}
			}
			return out, timedOut(waiting)
		}
	}
}

// pipelineImagesParam is the gate's param that carries the artifacts.
const pipelineImagesParam = "images"

// waitForChange returns when a TaskRun of the run changes after
// resourceVersion, or an error (ctx's at the end of the wait).
func waitForChange(ctx context.Context, trs tektonv1.TaskRunInterface, sel, resourceVersion string) error {
	w, err := trs.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: resourceVersion})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	defer w.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case _, ok := <-w.ResultChan():
		if !ok && ctx.Err() != nil {
			return ctx.Err()
		}
		// A closed watch (the server's timeout) is a reason to look again
		// too: the next look lists and watches afresh.
		return nil
	}
}

// timedOut turns what was still waited for when the wait ended into
// findings; images that only lack Chains' verdict are left to the engine.
func timedOut(ws []builds.Waiting) []gate.Finding {
	var fs []gate.Finding
	for _, w := range ws {
		if w.ChainsOnly {
			continue
		}
		fs = append(fs, gate.Finding{Check: gate.CheckProvenance, Subject: gate.ImageSubject(w.Artifact), Transient: true, Message: fmt.Sprintf(
			"could not decide: the TaskRun that built %s was not ready within the wait (%.0f%% of --timeout): %s", w.Artifact, chainsWaitShare*100, w.Why)})
	}
	return fs
}
