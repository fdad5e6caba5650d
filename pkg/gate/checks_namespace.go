package gate

import "strings"

// checkNamespace: a run must live in a namespace, and not in one that
// namespaces.deny lists.
func (r *run) checkNamespace(subject Subject, ns, kind string) {
	deny := r.denyNamespaces()
	if ns == "" {
		r.violation(CheckNamespace, "", subject, "%s has no metadata.namespace: want a namespace not listed in namespaces.deny [%s]", kind, strings.Join(deny, ", "))
		return
	}
	for _, d := range deny {
		if d == ns {
			r.violation(CheckNamespace, "", subject, "%s runs in namespace %q, which namespaces.deny [%s] forbids", kind, ns, strings.Join(deny, ", "))
			return
		}
	}
}
