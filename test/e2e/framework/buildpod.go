//go:build e2e

package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// BuildPod is how a build TaskRun's Pod ends, as the kubelet would report it.
type BuildPod struct {
	// Now is written as the containers' start and finish time.
	Now time.Time
	// Results are the Task results the first step reports, in its
	// termination message: type-hinted ones (IMAGE_URL and IMAGE_DIGEST,
	// IMAGES, *_ARTIFACT_OUTPUTS, CHAINS-GIT_URL and CHAINS-GIT_COMMIT) are
	// what Chains signs and attests.
	Results []TaskResult
	// ImageIDs maps container names (step-<name>, sidecar-<name>) to the
	// image ID the kubelet reports (repo@sha256:…). A container not listed
	// gets its image when that is pinned by digest, else no image ID, which
	// Chains cannot turn into SLSA provenance.
	ImageIDs map[string]string
	// ExitCode of the first step; non-zero fails the TaskRun (Chains still
	// signs a failed TaskRun).
	ExitCode int32
}

// CompleteBuildPod plays the kubelet for the Pod of TaskRun ns/taskRun
// (there is none here): it waits for Tekton to create the Pod, then marks
// it Succeeded (or Failed) with every step and sidecar container
// terminated, image IDs set, and the first step's termination message
// carrying b.Results in the form Tekton's entrypoint writes. Tekton then
// completes the TaskRun with those results and step image IDs, which is
// what Chains reads. timeout bounds the wait for the Pod.
func (e *Env) CompleteBuildPod(ctx context.Context, ns, taskRun string, b BuildPod, timeout time.Duration) error {
	var podName string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		tr, err := e.Tekton.TektonV1().TaskRuns(ns).Get(ctx, taskRun, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if c := tr.Status.GetCondition("Succeeded"); c != nil && c.IsFalse() {
			return false, fmt.Errorf("TaskRun %s/%s failed before its Pod ran: %s: %s", ns, taskRun, c.Reason, c.Message)
		}
		podName = tr.Status.PodName
		return podName != "", nil
	})
	if err != nil {
		return fmt.Errorf("TaskRun %s/%s: no Pod: %w", ns, taskRun, err)
	}
	pod, err := e.Kube.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	msgs, err := terminationMessages(pod, b)
	if err != nil {
		return err
	}
	at := metav1.NewTime(b.Now.UTC().Truncate(time.Second))
	pod.Status.Phase = corev1.PodSucceeded
	if b.ExitCode != 0 {
		pod.Status.Phase = corev1.PodFailed
	}
	pod.Status.StartTime = &at
	pod.Status.ContainerStatuses = nil
	firstStep := true
	for _, c := range pod.Spec.Containers {
		exit := int32(0)
		if strings.HasPrefix(c.Name, "step-") && firstStep {
			exit, firstStep = b.ExitCode, false
		}
		id, ok := b.ImageIDs[c.Name]
		if !ok && strings.Contains(c.Image, "@sha256:") {
			id = c.Image
		}
		reason := "Completed"
		if exit != 0 {
			reason = "Error"
		}
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: id,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: exit, Reason: reason, Message: msgs[c.Name], StartedAt: at, FinishedAt: at,
			}},
		})
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted"}}
	if _, err := e.Kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("complete pod %s/%s: %w", ns, podName, err)
	}
	return nil
}

// buildEntry is one entry of a termination message as Tekton's entrypoint
// writes it (pkg/result: type 1 a task result, 3 an internal key).
type buildEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Type  int    `json:"type"`
}

// terminationMessages returns each step container's termination message:
// the StartedAt entry (exactly three fractional digits, the only form
// Tekton parses without requeueing), and the results in the first step's.
func terminationMessages(pod *corev1.Pod, b BuildPod) (map[string]string, error) {
	started := buildEntry{Key: "StartedAt", Value: b.Now.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05.000Z07:00"), Type: 3}
	out := map[string]string{}
	first := true
	for _, c := range pod.Spec.Containers {
		if !strings.HasPrefix(c.Name, "step-") {
			continue
		}
		entries := []buildEntry{started}
		if first {
			for _, r := range b.Results {
				entries = append(entries, buildEntry{Key: r.Name, Value: r.Value, Type: 1})
			}
			first = false
		}
		msg, err := json.Marshal(entries)
		if err != nil {
			return nil, err
		}
		// The kubelet keeps at most 4096 bytes: Tekton would read a
		// truncated message.
		if len(msg) > 4096 {
			return nil, fmt.Errorf("pod %s/%s: the results need a %d-byte termination message, more than the 4096 a container may write",
				pod.Namespace, pod.Name, len(msg))
		}
		out[c.Name] = string(msg)
	}
	if first && len(b.Results) > 0 {
		return nil, fmt.Errorf("pod %s/%s: no step container to report %d result(s)", pod.Namespace, pod.Name, len(b.Results))
	}
	return out, nil
}

// WaitTaskRunDone waits until the TaskRun has finished (Succeeded True or
// False) and returns it.
func (e *Env) WaitTaskRunDone(ctx context.Context, ns, name string, timeout time.Duration) (*v1.TaskRun, error) {
	var tr *v1.TaskRun
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := e.Tekton.TektonV1().TaskRuns(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		tr = got
		return got.IsDone(), nil
	})
	if err != nil {
		return tr, fmt.Errorf("TaskRun %s/%s not done: %w", ns, name, err)
	}
	return tr, nil
}
