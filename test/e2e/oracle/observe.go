package oracle

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	tektonpod "github.com/tektoncd/pipeline/pkg/pod"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// InjectedContainers are the containers Tekton v1.15 adds to a TaskRun's Pod
// itself (pkg/pod and the results sidecar of pkg/apis/pipeline): the only
// ones the oracle leaves out. With Tekton's default feature flag
// set-security-context: "false" they carry no securityContext at all, so
// they would fail the restricted level in every Pod; they run Tekton's own
// configured images, not the pipeline author's, and the gate does not judge
// them by design.
var InjectedContainers = []string{
	tektonpod.ContainerNamePrepare,
	tektonpod.ContainerNamePlaceScripts,
	tektonpod.ContainerNameWorkingDirInitializer,
	pipeline.ReservedResultsSidecarContainerName,
}

// Container kinds, from the names Tekton gives containers.
const (
	KindStep    = "step"
	KindSidecar = "sidecar"
	// KindOther is a container that is neither a step, a sidecar nor one
	// of InjectedContainers: judged like the others, never skipped.
	KindOther = "other"
)

// Container is one container of a Pod the oracle judges.
type Container struct {
	Name  string // as in the Pod: step-<name>, sidecar-<name>
	Kind  string
	Image string
	Init  bool
}

// Failure is one Pod Security Standards check the Pod fails.
type Failure struct {
	Reason string
	Detail string
}

func (f Failure) String() string {
	if f.Detail == "" {
		return f.Reason
	}
	return f.Reason + " (" + f.Detail + ")"
}

// PodObservation is what the oracle learned from one Pod as stored.
type PodObservation struct {
	Pod          string
	PipelineTask string
	TaskRun      string
	Level        string
	Containers   []Container
	// Fails: the Pod, without InjectedContainers, fails the level.
	Fails bool
	// All are the failures of the whole Pod.
	All []Failure
	// PodLevel are the failures of the Pod's own fields and metadata,
	// found with a container that meets the level standing in for its
	// containers.
	PodLevel []Failure
	// ByContainer are each container's failures beyond PodLevel, found with
	// that container alone in the Pod (its metadata, annotations included).
	ByContainer map[string][]Failure
}

var (
	evalOnce sync.Once
	eval     psapolicy.Evaluator
	evalErr  error
)

func evaluator() (psapolicy.Evaluator, error) {
	evalOnce.Do(func() { eval, evalErr = psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil) })
	return eval, evalErr
}

// probe meets every container rule of the restricted level, so evaluating
// the Pod's own fields with it alone yields exactly the Pod-level failures.
func probe() corev1.Container {
	no, yes := false, true
	return corev1.Container{
		Name: "oracle-probe", Image: "oracle-probe",
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: &no,
			RunAsNonRoot:             &yes,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// KindOf says what a container name is in a Tekton Pod.
func KindOf(name string) string {
	switch {
	case strings.HasPrefix(name, "step-"):
		return KindStep
	case strings.HasPrefix(name, "sidecar-"):
		return KindSidecar
	}
	return KindOther
}

// Observe judges one Pod at level (restricted or baseline) with
// k8s.io/pod-security-admission, on the Pod's spec and metadata exactly as
// stored, InjectedContainers left out.
func Observe(pod *corev1.Pod, level string) (*PodObservation, error) {
	lvl, err := psaapi.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	ev, err := evaluator()
	if err != nil {
		return nil, err
	}
	lv := psaapi.LevelVersion{Level: lvl, Version: psaapi.LatestVersion()}
	o := &PodObservation{
		Pod: pod.Name, Level: level,
		PipelineTask: pod.Labels[pipeline.PipelineTaskLabelKey],
		TaskRun:      pod.Labels[pipeline.TaskRunLabelKey],
		ByContainer:  map[string][]Failure{},
	}
	spec := pod.Spec.DeepCopy()
	keep := func(cs []corev1.Container) []corev1.Container {
		return slices.DeleteFunc(cs, func(c corev1.Container) bool { return slices.Contains(InjectedContainers, c.Name) })
	}
	spec.InitContainers = keep(spec.InitContainers)
	spec.Containers = keep(spec.Containers)
	for _, c := range spec.InitContainers {
		o.Containers = append(o.Containers, Container{Name: c.Name, Kind: KindOf(c.Name), Image: c.Image, Init: true})
	}
	for _, c := range spec.Containers {
		o.Containers = append(o.Containers, Container{Name: c.Name, Kind: KindOf(c.Name), Image: c.Image})
	}
	if len(spec.Containers) == 0 {
		return nil, fmt.Errorf("pod %s/%s has no container besides Tekton's own", pod.Namespace, pod.Name)
	}
	meta := pod.ObjectMeta.DeepCopy()

	o.All = failures(ev.EvaluatePod(lv, meta, spec))
	o.Fails = len(o.All) > 0

	// Pod Security Standards judge every AppArmor annotation of the Pod,
	// whichever container it names; to say which container fails, each
	// annotation that names a container of the Pod is judged with that
	// container only. One naming no container stays with the Pod.
	named := map[string]bool{}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		named[c.Name] = true
	}
	metaFor := func(container string) *metav1.ObjectMeta {
		m := meta.DeepCopy()
		for k := range m.Annotations {
			if c, ok := strings.CutPrefix(k, AppArmorAnnotationPrefix); ok && named[c] && c != container {
				delete(m.Annotations, k)
			}
		}
		return m
	}

	podOnly := spec.DeepCopy()
	podOnly.InitContainers, podOnly.Containers, podOnly.EphemeralContainers = nil, []corev1.Container{probe()}, nil
	o.PodLevel = failures(ev.EvaluatePod(lv, metaFor(""), podOnly))
	atPod := map[string]bool{}
	for _, f := range o.PodLevel {
		atPod[f.Reason] = true
	}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		one := spec.DeepCopy()
		one.InitContainers, one.Containers, one.EphemeralContainers = nil, []corev1.Container{c}, nil
		for _, f := range failures(ev.EvaluatePod(lv, metaFor(c.Name), one)) {
			if !atPod[f.Reason] {
				o.ByContainer[c.Name] = append(o.ByContainer[c.Name], f)
			}
		}
	}
	// A failure no single container and no Pod-level field explains on its
	// own still counts, against the Pod.
	if o.Fails && len(o.PodLevel) == 0 && len(o.ByContainer) == 0 {
		o.PodLevel = o.All
	}
	return o, nil
}

func failures(rs []psapolicy.CheckResult) []Failure {
	var out []Failure
	for _, r := range rs {
		if !r.Allowed {
			out = append(out, Failure{Reason: r.ForbiddenReason, Detail: r.ForbiddenDetail})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reason < out[j].Reason })
	return out
}
