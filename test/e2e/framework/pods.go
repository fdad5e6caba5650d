//go:build e2e

package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CompletePod plays the kubelet for a TaskRun's Pod (no kubelet or scheduler
// runs here): it marks the Pod Succeeded and every step container terminated
// with exit code 0 and the termination message Tekton's entrypoint writes
// (its StartedAt entry), so Tekton finishes the TaskRun.
func (e *Env) CompletePod(ctx context.Context, ns, podName string) error {
	pod, err := e.Kube.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	type entry struct {
		Key   string `json:"key"`
		Value string `json:"value"`
		Type  int    `json:"type"`
	}
	// Type 3 is Tekton's internal result type (pkg/result).
	msg, _ := json.Marshal([]entry{{Key: "StartedAt", Value: now.UTC().Format(time.RFC3339), Type: 3}})
	pod.Status.Phase = corev1.PodSucceeded
	pod.Status.StartTime = &now
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name:  c.Name,
			Image: c.Image,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", Message: string(msg), StartedAt: now, FinishedAt: now,
			}},
		})
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "PodCompleted"}}
	if _, err := e.Kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("complete pod %s/%s: %w", ns, podName, err)
	}
	return nil
}
