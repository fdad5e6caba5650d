package oracle

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/security-gate/security-gate/pkg/gate"
)

const (
	run      = "pipelinerun/oracle/release"
	signed   = "127.0.0.1:5000/oracle/signed@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	unsigned = "127.0.0.1:5000/oracle/unsigned@sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func restrictedSC() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// tektonPod is a Pod shaped as Tekton v1.15 builds one with default feature
// flags: its own init containers without any securityContext, then the
// given containers.
func tektonPod(task string, annotations map[string]string, mutate func(*corev1.PodSpec), cs ...corev1.Container) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "release-" + task + "-pod", Namespace: "oracle", Annotations: annotations,
			Labels: map[string]string{"tekton.dev/pipelineTask": task, "tekton.dev/taskRun": "release-" + task},
		},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{
				{Name: "prepare", Image: "127.0.0.1:1/unused"},
				{Name: "place-scripts", Image: "127.0.0.1:1/unused"},
			},
			Containers: cs,
		},
	}
	if mutate != nil {
		mutate(&p.Spec)
	}
	return p
}

func step(name, image string, sc *corev1.SecurityContext) corev1.Container {
	return corev1.Container{Name: "step-" + name, Image: image, SecurityContext: sc}
}

func privileged() *corev1.SecurityContext {
	sc := restrictedSC()
	sc.Privileged = ptr.To(true)
	return sc
}

func f(check, subject, message string) gate.Finding {
	return gate.Finding{Check: check, Subject: gate.TextSubject(subject), Message: message}
}

func TestObserveLeavesOutOnlyTektonsContainers(t *testing.T) {
	// Tekton's own init containers carry no securityContext: left out, the
	// Pod passes restricted.
	o, err := Observe(tektonPod("build", nil, nil, step("compile", signed, restrictedSC())), LevelRestricted)
	if err != nil {
		t.Fatal(err)
	}
	if o.Fails || len(o.Containers) != 1 || o.Containers[0].Name != "step-compile" || o.Containers[0].Kind != KindStep {
		t.Fatalf("Observe = fails %v, containers %+v; want a passing Pod with only step-compile judged", o.Fails, o.Containers)
	}
	// A container of any other name is judged, even an init container.
	p := tektonPod("build", nil, nil, step("compile", signed, restrictedSC()))
	p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "sneaky", Image: unsigned})
	o, err = Observe(p, LevelRestricted)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Fails || len(o.ByContainer["sneaky"]) == 0 || o.Containers[0].Name != "sneaky" || o.Containers[0].Kind != KindOther {
		t.Fatalf("Observe with an init container sneaky = fails %v, by container %v, containers %+v; want sneaky judged and failing", o.Fails, o.ByContainer, o.Containers)
	}
}

func TestCheck(t *testing.T) {
	okPod := tektonPod("build", nil, nil, step("compile", signed, restrictedSC()))
	privPod := tektonPod("build", nil, nil, step("compile", signed, restrictedSC()), step("docker", signed, privileged()))
	apparmorPod := tektonPod("build", map[string]string{AppArmorAnnotationPrefix + "step-compile": "unconfined"}, nil,
		step("compile", signed, restrictedSC()))
	hostNetPod := tektonPod("build", nil, func(s *corev1.PodSpec) { s.HostNetwork = true }, step("compile", signed, restrictedSC()))
	unsignedPod := tektonPod("build", nil, nil, step("compile", unsigned, restrictedSC()))
	sidecarPod := tektonPod("build", nil, nil, step("compile", signed, restrictedSC()),
		corev1.Container{Name: "sidecar-db", Image: unsigned})
	verified := []string{signed}

	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		level    string
		report   gate.Report
		wantMiss []string // substrings, one per expected miss, in order
	}{
		{name: "compliant and verified", pod: okPod, report: gate.Report{VerifiedImages: verified}},
		{name: "image neither verified nor reported", pod: okPod,
			wantMiss: []string{"container step-compile, image " + signed + ": Tekton runs this step image"}},
		{name: "privileged step reported for its container", pod: privPod,
			report: gate.Report{VerifiedImages: verified, Warnings: []gate.Finding{
				f(gate.CheckSecurityContext, run+" task=build step=docker", "step \"docker\" fails privileged")}}},
		{name: "privileged step not reported", pod: privPod, report: gate.Report{VerifiedImages: verified},
			wantMiss: []string{`pod release-build-pod (pipeline task "build"): the Pod fails Pod Security Standards level "restricted": privileged`}},
		{name: "privileged step reported for another container of the task", pod: privPod,
			report: gate.Report{VerifiedImages: verified, Warnings: []gate.Finding{
				f(gate.CheckSecurityContext, run+" task=build step=compile", "something else")}},
			wantMiss: []string{"container step-docker: the container fails Pod Security Standards level \"restricted\": privileged"}},
		{name: "privileged step reported for another task", pod: privPod,
			report: gate.Report{VerifiedImages: verified, Violations: []gate.Finding{
				f(gate.CheckSecurityContext, run+" task=test step=docker", "privileged")}},
			wantMiss: []string{"the gate reported no security-context finding for pipeline task \"build\""}},
		{name: "privileged step reported for another run", pod: privPod,
			report: gate.Report{VerifiedImages: verified, Violations: []gate.Finding{
				f(gate.CheckSecurityContext, "pipelinerun/oracle/other task=build step=docker", "privileged")}},
			wantMiss: []string{"no security-context finding"}},
		{name: "apparmor annotation not reported", pod: apparmorPod, report: gate.Report{VerifiedImages: verified},
			wantMiss: []string{"forbidden AppArmor profile"}},
		{name: "apparmor annotation reported at the pod, not the container", pod: apparmorPod,
			report: gate.Report{VerifiedImages: verified, Warnings: []gate.Finding{
				f(gate.CheckSecurityContext, run+" task=build", "pod fails")}},
			wantMiss: []string{"container step-compile: the container fails"}},
		{name: "apparmor annotation reported for the container", pod: apparmorPod, level: LevelBaseline,
			report: gate.Report{VerifiedImages: verified, Warnings: []gate.Finding{
				f(gate.CheckSecurityContext, run+" task=build step=compile", "appArmor")}}},
		{name: "host network reported for the task", pod: hostNetPod, level: LevelBaseline,
			report: gate.Report{VerifiedImages: verified, Warnings: []gate.Finding{
				f(gate.CheckSecurityContext, run+" task=build", "host namespaces")}}},
		{name: "host network not reported", pod: hostNetPod, level: LevelBaseline, report: gate.Report{VerifiedImages: verified},
			wantMiss: []string{"host namespaces"}},
		{name: "unsigned image named by image-signature", pod: unsignedPod,
			report: gate.Report{Warnings: []gate.Finding{f(gate.CheckImageSignature, unsigned, "no signature")}}},
		{name: "unsigned image named in an image-digest message", pod: unsignedPod,
			report: gate.Report{Warnings: []gate.Finding{f(gate.CheckImageDigest, run+" task=other step=x", `step "x" image "`+unsigned+`" is not pinned`)}}},
		{name: "image only known at run time, reported for this container", pod: unsignedPod,
			report: gate.Report{Warnings: []gate.Finding{f(gate.CheckImageReference, run+" task=build step=compile", "depends on a result")}}},
		{name: "image only known at run time, reported for another container", pod: unsignedPod,
			report:   gate.Report{Warnings: []gate.Finding{f(gate.CheckImageReference, run+" task=build step=other", "depends on a result")}},
			wantMiss: []string{"image " + unsigned}},
		{name: "a finding that is not about images does not cover one", pod: unsignedPod,
			report:   gate.Report{Warnings: []gate.Finding{f(gate.CheckUnresolved, unsigned, "could not load")}},
			wantMiss: []string{"image " + unsigned}},
		{name: "sidecar without securityContext and unsigned image", pod: sidecarPod, report: gate.Report{VerifiedImages: verified},
			wantMiss: []string{"the Pod fails", "container sidecar-db, image " + unsigned}},
		{name: "sidecar reported", pod: sidecarPod, report: gate.Report{VerifiedImages: verified, Warnings: []gate.Finding{
			f(gate.CheckSecurityContext, run+" task=build sidecar=db", "fails"),
			f(gate.CheckImageSignature, unsigned, "no signature")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			level := tc.level
			if level == "" {
				level = LevelRestricted
			}
			o, err := Observe(tc.pod, level)
			if err != nil {
				t.Fatal(err)
			}
			misses := Check("controller", run, &tc.report, []*PodObservation{o})
			if len(misses) != len(tc.wantMiss) {
				t.Fatalf("Check = %d misses, want %d:\n%s", len(misses), len(tc.wantMiss), missText(misses))
			}
			for i, want := range tc.wantMiss {
				if s := misses[i].String(); !strings.Contains(s, want) {
					t.Errorf("miss %d = %s\nwant it to contain %q", i, s, want)
				}
			}
		})
	}
}

func missText(ms []Miss) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.String() + "\n")
	}
	return b.String()
}

func TestParseSubject(t *testing.T) {
	for _, tc := range []struct{ in, base, task, container string }{
		{"pipelinerun/ns/pr task=build step=compile", "pipelinerun/ns/pr", "build", "step-compile"},
		{"pipelinerun/ns/pr task=build sidecar=db", "pipelinerun/ns/pr", "build", "sidecar-db"},
		{"pipelinerun/ns/pr task=build", "pipelinerun/ns/pr", "build", ""},
		{"127.0.0.1:5000/x@sha256:00", "127.0.0.1:5000/x@sha256:00", "", ""},
	} {
		b, task, c := parseSubject(tc.in)
		if b != tc.base || task != tc.task || c != tc.container {
			t.Errorf("parseSubject(%q) = %q %q %q, want %q %q %q", tc.in, b, task, c, tc.base, tc.task, tc.container)
		}
	}
}
