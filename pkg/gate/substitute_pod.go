package gate

import (
	"fmt"

	podtpl "github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/substitution"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Substitution into pod templates and volumes, and the Pod's container
// names, as Tekton's TaskRun reconciler and pod builder do (see
// substitute.go for why the engine restates them).

// textReplacer substitutes string parameter references into one field.
type textReplacer map[string]string

func sub[T ~string](r textReplacer, p *T) {
	*p = T(substitution.ApplyReplacements(string(*p), r))
}

func subPtr[T ~string](r textReplacer, p *T) {
	if p != nil {
		sub(r, p)
	}
}

func subAll(r textReplacer, ss []string) {
	for i := range ss {
		sub(r, &ss[i])
	}
}

// subMap substitutes keys and values into a new map.
func subMap(r textReplacer, m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[substitution.ApplyReplacements(k, r)] = substitution.ApplyReplacements(v, r)
	}
	return out
}

// applyPodTemplateParams substitutes the task's string parameters (params
// over the defaults of specs) into the fields of a pod template Tekton
// substitutes. It returns a copy; nil stays nil.
func applyPodTemplateParams(tpl *podtpl.Template, params v1.Params, specs v1.ParamSpecs) *podtpl.Template {
	if tpl == nil {
		return nil
	}
	out := tpl.DeepCopy()
	r := textReplacer(taskParamReplacements(params, specs).str)
	out.NodeSelector = subMap(r, out.NodeSelector)
	for i := range out.Tolerations {
		t := &out.Tolerations[i]
		sub(r, &t.Key)
		sub(r, &t.Value)
		sub(r, &t.Operator)
		sub(r, &t.Effect)
	}
	if a := out.Affinity; a != nil {
		if na := a.NodeAffinity; na != nil {
			if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
				for i := range req.NodeSelectorTerms {
					subNodeSelectorTerm(r, &req.NodeSelectorTerms[i])
				}
			}
			for i := range na.PreferredDuringSchedulingIgnoredDuringExecution {
				subNodeSelectorTerm(r, &na.PreferredDuringSchedulingIgnoredDuringExecution[i].Preference)
			}
		}
		if pa := a.PodAffinity; pa != nil {
			subPodAffinityTerms(r, pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			subPodAffinityTerms(r, pa.RequiredDuringSchedulingIgnoredDuringExecution, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	if sc := out.SecurityContext; sc != nil {
		subPodSecurityContext(r, sc)
	}
	subPtr(r, out.RuntimeClassName)
	sub(r, &out.SchedulerName)
	subPtr(r, out.PriorityClassName)
	for i := range out.ImagePullSecrets {
		sub(r, &out.ImagePullSecrets[i].Name)
	}
	for i := range out.HostAliases {
		sub(r, &out.HostAliases[i].IP)
		subAll(r, out.HostAliases[i].Hostnames)
	}
	for i := range out.TopologySpreadConstraints {
		sub(r, &out.TopologySpreadConstraints[i].TopologyKey)
		subLabelSelector(r, out.TopologySpreadConstraints[i].LabelSelector)
	}
	subPtr(r, out.DNSPolicy)
	if dc := out.DNSConfig; dc != nil {
		subAll(r, dc.Nameservers)
		subAll(r, dc.Searches)
		for i := range dc.Options {
			sub(r, &dc.Options[i].Name)
			subPtr(r, dc.Options[i].Value)
		}
	}
	for i := range out.Volumes {
		substituteVolume(&out.Volumes[i], r)
	}
	for i := range out.Env {
		e := &out.Env[i]
		sub(r, &e.Name)
		sub(r, &e.Value)
		if vf := e.ValueFrom; vf != nil {
			if ref := vf.ConfigMapKeyRef; ref != nil {
				sub(r, &ref.Name)
				sub(r, &ref.Key)
			}
			if ref := vf.SecretKeyRef; ref != nil {
				sub(r, &ref.Name)
				sub(r, &ref.Key)
			}
			if ref := vf.FieldRef; ref != nil {
				sub(r, &ref.FieldPath)
			}
			if ref := vf.ResourceFieldRef; ref != nil {
				sub(r, &ref.Resource)
				sub(r, &ref.ContainerName)
			}
		}
	}
	return out
}

func subNodeSelectorTerm(r textReplacer, t *corev1.NodeSelectorTerm) {
	for _, reqs := range [][]corev1.NodeSelectorRequirement{t.MatchExpressions, t.MatchFields} {
		for i := range reqs {
			sub(r, &reqs[i].Key)
			subAll(r, reqs[i].Values)
		}
	}
}

func subPodAffinityTerms(r textReplacer, required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm) {
	for i := range required {
		subPodAffinityTerm(r, &required[i])
	}
	for i := range preferred {
		subPodAffinityTerm(r, &preferred[i].PodAffinityTerm)
	}
}

func subPodAffinityTerm(r textReplacer, t *corev1.PodAffinityTerm) {
	subLabelSelector(r, t.LabelSelector)
	sub(r, &t.TopologyKey)
	subLabelSelector(r, t.NamespaceSelector)
	subAll(r, t.Namespaces)
}

func subLabelSelector(r textReplacer, s *metav1.LabelSelector) {
	if s == nil {
		return
	}
	s.MatchLabels = subMap(r, s.MatchLabels)
	for i := range s.MatchExpressions {
		sub(r, &s.MatchExpressions[i].Key)
		subAll(r, s.MatchExpressions[i].Values)
	}
}

func subPodSecurityContext(r textReplacer, sc *corev1.PodSecurityContext) {
	if o := sc.SELinuxOptions; o != nil {
		sub(r, &o.User)
		sub(r, &o.Role)
		sub(r, &o.Type)
		sub(r, &o.Level)
	}
	if w := sc.WindowsOptions; w != nil {
		subPtr(r, w.GMSACredentialSpecName)
		subPtr(r, w.GMSACredentialSpec)
		subPtr(r, w.RunAsUserName)
	}
	subPtr(r, sc.SupplementalGroupsPolicy)
	for i := range sc.Sysctls {
		sub(r, &sc.Sysctls[i].Name)
		sub(r, &sc.Sysctls[i].Value)
	}
	subPtr(r, sc.FSGroupChangePolicy)
	if p := sc.SeccompProfile; p != nil {
		subProfile(r, &p.Type, p.LocalhostProfile)
	}
	if p := sc.AppArmorProfile; p != nil {
		subProfile(r, &p.Type, p.LocalhostProfile)
	}
	subPtr(r, sc.SELinuxChangePolicy)
}

// subProfile substitutes into a seccomp or AppArmor profile, which have the
// same two fields under different types.
func subProfile[T ~string](r textReplacer, typ *T, localhost *string) {
	sub(r, typ)
	subPtr(r, localhost)
}

// substituteVolume substitutes into the fields of a volume Tekton
// substitutes, for a task's volumes and a pod template's alike.
func substituteVolume(v *corev1.Volume, r textReplacer) {
	sub(r, &v.Name)
	if cm := v.ConfigMap; cm != nil {
		sub(r, &cm.Name)
		subKeyPaths(r, cm.Items)
	}
	if s := v.Secret; s != nil {
		sub(r, &s.SecretName)
		subKeyPaths(r, s.Items)
	}
	if pvc := v.PersistentVolumeClaim; pvc != nil {
		sub(r, &pvc.ClaimName)
	}
	if p := v.Projected; p != nil {
		for _, src := range p.Sources {
			if src.ConfigMap != nil {
				sub(r, &src.ConfigMap.Name)
			}
			if src.Secret != nil {
				sub(r, &src.Secret.Name)
			}
			if src.ServiceAccountToken != nil {
				sub(r, &src.ServiceAccountToken.Audience)
			}
		}
	}
	if csi := v.CSI; csi != nil {
		if csi.NodePublishSecretRef != nil {
			sub(r, &csi.NodePublishSecretRef.Name)
		}
		for k, s := range csi.VolumeAttributes {
			csi.VolumeAttributes[k] = substitution.ApplyReplacements(s, r)
		}
	}
}

func subKeyPaths(r textReplacer, items []corev1.KeyToPath) {
	for i := range items {
		sub(r, &items[i].Key)
		sub(r, &items[i].Path)
	}
}

// podStepName is the name Tekton's pod builder gives step i's container
// before shortening: step-<name>, or step-unnamed-<i>.
func podStepName(name string, i int) string {
	if name == "" {
		return fmt.Sprintf("step-unnamed-%d", i)
	}
	return "step-" + name
}
