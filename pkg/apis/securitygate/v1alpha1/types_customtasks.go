package v1alpha1

// CustomTaskPolicy says how the gate judges custom tasks: pipeline tasks
// whose taskRef or taskSpec names an apiVersion and kind that another
// controller runs. The gate cannot see whether such a task starts pods or
// what they run, so one is a violation (check unresolved) whenever an
// enabled check needs to see what runs, unless its kind is listed here.
type CustomTaskPolicy struct {
	// NoPods lists custom task kinds known to run no pods (an approval or a
	// wait task). A custom task of a listed kind is reported as a warning
	// only. Matching is exact on apiVersion and kind.
	// +optional
	// +listType=map
	// +listMapKey=apiVersion
	// +listMapKey=kind
	// +kubebuilder:validation:MaxItems=64
	NoPods []CustomTaskKind `json:"noPods,omitempty"`
}

// CustomTaskKind names a custom task kind.
//
// +kubebuilder:validation:XValidation:rule="!self.apiVersion.startsWith('tekton.dev/')",message="tekton.dev kinds run pods (a tekton.dev Pipeline custom task runs a whole pipeline); they cannot be listed as running none"
type CustomTaskKind struct {
	// APIVersion is the custom task's group/version, as its taskRef writes it.
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[a-z0-9]+$`
	APIVersion string `json:"apiVersion"`
	// Kind is the custom task's kind, as its taskRef writes it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9]*$`
	Kind string `json:"kind"`
}

// RunsNoPods reports whether the policy lists apiVersion/kind as a custom
// task kind that runs no pods. A nil policy lists nothing.
func (p *CustomTaskPolicy) RunsNoPods(apiVersion, kind string) bool {
	if p == nil {
		return false
	}
	for _, k := range p.NoPods {
		if k.APIVersion == apiVersion && k.Kind == kind {
			return true
		}
	}
	return false
}
