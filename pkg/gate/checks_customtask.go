package gate

// customTask judges a pipeline task (or a TaskRun) that is a custom task:
// another controller runs it, and nothing tells the gate whether it starts
// pods or what they run (a tekton.dev/v1alpha1 Pipeline custom task runs a
// whole pipeline). When an enabled check needs the content of what runs,
// that is a violation, as for any reference the gate cannot load. Kinds
// the policy lists in customTasks.noPods (approval or wait tasks) are known
// to run nothing and stay a warning.
func (r *run) customTask(task string, subject Subject, apiVersion, kind string) {
	if r.policy.CustomTasks.RunsNoPods(apiVersion, kind) {
		r.warning(CheckUnresolved, task, subject,
			"custom task (apiVersion %q, kind %q) has no steps to inspect; customTasks.noPods lists it as running no pods", apiVersion, kind)
		return
	}
	needed := r.needTaskContent()
	sev := needSeverity(needed)
	r.finding(sev, CheckUnresolved, task, subject,
		"custom task (apiVersion %q, kind %q) is run by another controller: the gate cannot see whether it starts pods or what they run%s; a kind known to run no pods (an approval or wait task) belongs in spec.customTasks.noPods",
		apiVersion, kind, neededSuffix(needed))
}
