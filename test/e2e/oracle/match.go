package oracle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/security-gate/security-gate/pkg/gate"
)

// imageChecks are the findings that say an image is not acceptable: naming
// the image, such a finding covers every container that runs it.
var imageChecks = []string{
	gate.CheckImageDigest, gate.CheckImageReference, gate.CheckImageSignature,
	gate.CheckAttestation, gate.CheckVulnerabilities, gate.CheckRegistry,
}

// Miss is one thing Tekton ran that the gate neither verified nor reported.
type Miss struct {
	Gate         string // which form of the gate: "controller" or "cli"
	Run          string // pipelinerun/<ns>/<name>
	Pod          string
	PipelineTask string
	Container    string // empty for the Pod as a whole
	Image        string // for an image miss
	What         string
	// GateSaid are the gate's findings about the pipeline task, the
	// container or the image, as "severity check subject: message".
	GateSaid []string
}

func (m Miss) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MISS (%s gate) run %s, pod %s (pipeline task %q)", m.Gate, m.Run, m.Pod, m.PipelineTask)
	if m.Container != "" {
		fmt.Fprintf(&b, ", container %s", m.Container)
	}
	if m.Image != "" {
		fmt.Fprintf(&b, ", image %s", m.Image)
	}
	fmt.Fprintf(&b, ": %s\n  the gate said:", m.What)
	if len(m.GateSaid) == 0 {
		b.WriteString(" nothing about it")
	}
	for _, s := range m.GateSaid {
		b.WriteString("\n    " + s)
	}
	return b.String()
}

// finding is a report finding with its severity and parsed subject.
type finding struct {
	gate.Finding
	severity  string
	base      string // pipelinerun/<ns>/<name>, or the whole subject
	task      string
	container string // step-<name> or sidecar-<name>, as Tekton names it
}

func (f finding) String() string {
	return fmt.Sprintf("%s %s %s: %s", f.severity, f.Check, f.Subject, f.Message)
}

// parseSubject reads "<base> task=<t> step=<s>|sidecar=<s>": the oracle
// judges the report's wire form, as a reader of the JSON would, so it reads
// the printed subject rather than trusting the engine's fields.
func parseSubject(s string) (base, task, container string) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return "", "", ""
	}
	base = fields[0]
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "task":
			task = v
		case "step":
			container = "step-" + v
		case "sidecar":
			container = "sidecar-" + v
		}
	}
	return base, task, container
}

func findings(rep *gate.Report) []finding {
	var out []finding
	for _, l := range []struct {
		sev string
		fs  []gate.Finding
	}{{"violation", rep.Violations}, {"warning", rep.Warnings}, {"error", rep.Errors}} {
		for _, f := range l.fs {
			base, task, c := parseSubject(f.Subject.String())
			out = append(out, finding{Finding: f, severity: l.sev, base: base, task: task, container: c})
		}
	}
	return out
}

// Check compares one gate's report on run ("pipelinerun/<ns>/<name>") with
// the Pods Tekton created for it, and returns every miss.
func Check(gateName, run string, rep *gate.Report, pods []*PodObservation) []Miss {
	fs := findings(rep)
	var misses []Miss
	for _, o := range pods {
		misses = append(misses, checkSecurity(gateName, run, fs, o)...)
		misses = append(misses, checkImages(gateName, run, rep, fs, o)...)
	}
	return misses
}

func (o *PodObservation) miss(gateName, run, container, image, what string, said []finding) Miss {
	m := Miss{Gate: gateName, Run: run, Pod: o.Pod, PipelineTask: o.PipelineTask, Container: container, Image: image, What: what}
	for _, f := range said {
		m.GateSaid = append(m.GateSaid, f.String())
	}
	return m
}

// checkSecurity: a Pod that fails the level needs a security-context
// finding for its pipeline task, and each container that fails on its own
// one naming that container.
func checkSecurity(gateName, run string, fs []finding, o *PodObservation) []Miss {
	forTask := func(keep func(finding) bool) []finding {
		return slices.DeleteFunc(slices.Clone(fs), func(f finding) bool {
			return f.base != run || f.task != o.PipelineTask || !keep(f)
		})
	}
	sc := forTask(func(f finding) bool { return f.Check == gate.CheckSecurityContext })
	var out []Miss
	if o.Fails && len(sc) == 0 {
		out = append(out, o.miss(gateName, run, "", "",
			fmt.Sprintf("the Pod fails Pod Security Standards level %q: %s; the gate reported no security-context finding for pipeline task %q", o.Level, joinFailures(o.All), o.PipelineTask),
			forTask(func(finding) bool { return true })))
		return out
	}
	names := make([]string, 0, len(o.ByContainer))
	for _, c := range o.Containers {
		if len(o.ByContainer[c.Name]) > 0 {
			names = append(names, c.Name)
		}
	}
	for _, name := range names {
		named := slices.ContainsFunc(sc, func(f finding) bool { return f.container == name })
		if named {
			continue
		}
		out = append(out, o.miss(gateName, run, name, "",
			fmt.Sprintf("the container fails Pod Security Standards level %q: %s; no security-context finding names it", o.Level, joinFailures(o.ByContainer[name])),
			forTask(func(f finding) bool { return f.container == name || f.container == "" })))
	}
	return out
}

// checkImages: every image of a judged container is in verified-images, or
// an image finding names it, or (for an image only known at run time) an
// image-reference finding names that very container.
func checkImages(gateName, run string, rep *gate.Report, fs []finding, o *PodObservation) []Miss {
	var out []Miss
	for _, c := range o.Containers {
		if slices.Contains(rep.VerifiedImages, c.Image) {
			continue
		}
		names := func(f finding) bool {
			return slices.Contains(imageChecks, f.Check) &&
				(f.Subject.String() == c.Image || strings.Contains(f.Message, `"`+c.Image+`"`))
		}
		atRunTime := func(f finding) bool {
			return f.Check == gate.CheckImageReference && f.base == run && f.task == o.PipelineTask && f.container == c.Name
		}
		if slices.ContainsFunc(fs, func(f finding) bool { return names(f) || atRunTime(f) }) {
			continue
		}
		said := slices.DeleteFunc(slices.Clone(fs), func(f finding) bool {
			about := f.Subject.String() == c.Image || strings.Contains(f.Message, c.Image) ||
				(f.base == run && f.task == o.PipelineTask && (f.container == c.Name || f.container == ""))
			return !about
		})
		out = append(out, o.miss(gateName, run, c.Name, c.Image,
			fmt.Sprintf("Tekton runs this %s image; it is not in the gate's verified-images (%d listed) and no image finding names it or this container", c.Kind, len(rep.VerifiedImages)),
			said))
	}
	return out
}

func joinFailures(fs []Failure) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, "; ")
}

// Said lists a report's findings one a line, for a log.
func Said(rep *gate.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict %s, %d verified image(s)", rep.Verdict, len(rep.VerifiedImages))
	for _, f := range findings(rep) {
		b.WriteString("\n    " + f.String())
	}
	return b.String()
}
