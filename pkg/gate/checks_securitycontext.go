package gate

import (
	"fmt"
	"strings"
	"sync"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

var (
	psaOnce      sync.Once
	psaEvaluator psapolicy.Evaluator
	psaErr       error
)

// evaluator is the upstream Pod Security Standards evaluator with the
// default checks, built once per process.
func evaluator() (psapolicy.Evaluator, error) {
	psaOnce.Do(func() {
		psaEvaluator, psaErr = psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	})
	return psaEvaluator, psaErr
}

// probeContainer passes every container-level restricted rule. It stands in
// for the containers when the pod-level fields are evaluated alone, so a
// pod-level failure is reported once, for the pod, and not once per step.
func probeContainer() corev1.Container {
	f, t := false, true
	return corev1.Container{
		Name:  "security-gate-probe",
		Image: "probe",
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: &f,
			RunAsNonRoot:             &t,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// checkSecurityContext evaluates the pod a task would run in against the
// policy's Pod Security Standards level with k8s.io/pod-security-admission.
//
// The pod is synthesized the way Tekton builds it (pkg/pod): containers are
// the steps after the stepTemplate merge and StepAction merge, and the
// sidecars, named as Tekton names them ("step-<name>", "sidecar-<name>");
// its annotations are the ones Tekton copies onto the Pod (podmeta.go), so
// an AppArmor profile set by annotation counts; the pod-level
// securityContext, hostNetwork, hostUsers and
// volumes come from the run's podTemplate (a PipelineRun's
// taskRunTemplate.podTemplate merged with taskRunSpecs[].podTemplate, as
// Tekton's GetTaskRunSpec does) and the task's volumes. taskRunSpecs'
// stepSpecs/sidecarSpecs only override compute resources in Tekton, so they
// cannot change the outcome. Containers Tekton injects itself (init
// containers, the results sidecar) are not the pipeline author's and are not
// evaluated; Tekton's set-security-context feature flag only affects those,
// so it is not consulted.
//
// Pod-level fields are evaluated first with a compliant probe container;
// their failures name the pod. Each container is then evaluated in a pod
// that carries only the pod-level securityContext (which containers
// inherit) and the annotations addressed to that container, and its
// failures, minus the rules that already fail at pod level, name the step
// or sidecar and the failed rule.
func (r *run) checkSecurityContext(u *taskUnit, ts *v1.TaskSpec, containers []container, tpl *pod.Template) {
	lvl := r.level()
	if lvl == v1alpha1.LevelPrivileged {
		return
	}
	level, err := psaapi.ParseLevel(string(lvl))
	if err != nil {
		r.errorf(CheckPolicy, u.task, u.base, false, "could not decide: unknown securityContext.level %q", lvl)
		return
	}
	ev, err := evaluator()
	if err != nil {
		r.errorf(CheckSecurityContext, u.task, u.base, false, "could not decide: Pod Security Standards evaluator: %v", err)
		return
	}
	lv := psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}
	podLevel := corev1.PodSpec{Volumes: append([]corev1.Volume{}, ts.Volumes...)}
	if tpl != nil {
		podLevel.SecurityContext = tpl.SecurityContext
		podLevel.HostNetwork = tpl.HostNetwork
		podLevel.HostUsers = tpl.HostUsers
		podLevel.Volumes = append(podLevel.Volumes, tpl.Volumes...)
	}
	podMeta := u.meta.pod()
	podAnn, containerAnn := splitContainerAnnotations(podMeta.Annotations, containers)
	probe := podLevel
	probe.Containers = []corev1.Container{probeContainer()}
	podFailed := map[string]bool{}
	for _, res := range ev.EvaluatePod(lv, &metav1.ObjectMeta{Annotations: podAnn}, &probe) {
		if res.Allowed {
			continue
		}
		podFailed[res.ForbiddenReason] = true
		r.violation(CheckSecurityContext, u.task, u.base,
			"pod fails Pod Security Standards level %q: %s%s (set in the task's volumes, the run's podTemplate or a pod annotation)",
			level, res.ForbiddenReason, detail(res.ForbiddenDetail))
	}
	for _, c := range containers {
		var k8s *corev1.Container
		if c.step != nil {
			k8s = c.step.ToK8sContainer()
		} else {
			k8s = c.sidecar.ToK8sContainer()
		}
		k8s.Name = c.podName
		one := corev1.PodSpec{SecurityContext: podLevel.SecurityContext, Containers: []corev1.Container{*k8s}}
		for _, res := range ev.EvaluatePod(lv, &metav1.ObjectMeta{Annotations: containerAnn[c.podName]}, &one) {
			if res.Allowed || podFailed[res.ForbiddenReason] {
				continue
			}
			r.violation(CheckSecurityContext, u.task, c.subject,
				"%s %q fails Pod Security Standards level %q: %s%s",
				c.kind, c.name, level, res.ForbiddenReason, detail(res.ForbiddenDetail))
		}
	}
}

func detail(d string) string {
	if d == "" {
		return ""
	}
	return fmt.Sprintf(" (%s)", d)
}

// splitContainerAnnotations separates the pod annotations that address one
// of the pod's containers by name (AppArmor's
// container.apparmor.security.beta.kubernetes.io/<container>) from the
// rest, so a profile set by annotation is reported for its step or sidecar
// exactly like the same profile set in the container's securityContext.
// Annotations for containers the pod does not have stay with the pod.
func splitContainerAnnotations(ann map[string]string, containers []container) (map[string]string, map[string]map[string]string) {
	byName := map[string]map[string]string{}
	for _, c := range containers {
		byName[c.podName] = nil
	}
	pod := map[string]string{}
	for k, v := range ann {
		name, ok := strings.CutPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix)
		if _, known := byName[name]; ok && known {
			if byName[name] == nil {
				byName[name] = map[string]string{}
			}
			byName[name][k] = v
			continue
		}
		pod[k] = v
	}
	return pod, byName
}
