package crd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
)

// invalidCustomTasks are policies both the CRD and Validate must reject
// (the fields of spec.customTasks).
var invalidCustomTasks = []struct {
	name    string
	spec    string
	goWant  string
	crdWant string
}{
	{"a tekton.dev kind", "  customTasks: {noPods: [{apiVersion: tekton.dev/v1alpha1, kind: Pipeline}]}\n",
		"spec.customTasks.noPods[0].apiVersion", "tekton.dev kinds run pods"},
	{"without apiVersion", "  customTasks: {noPods: [{kind: Approval}]}\n",
		"spec.customTasks.noPods[0].apiVersion", "spec.customTasks.noPods[0].apiVersion: Required value"},
	{"without kind", "  customTasks: {noPods: [{apiVersion: approval.example.dev/v1}]}\n",
		"spec.customTasks.noPods[0].kind", "spec.customTasks.noPods[0].kind: Required value"},
	{"apiVersion without a version", "  customTasks: {noPods: [{apiVersion: approval.example.dev, kind: Approval}]}\n",
		"spec.customTasks.noPods[0].apiVersion", "spec.customTasks.noPods[0].apiVersion: Invalid value"},
	{"kind that is not a kind name", "  customTasks: {noPods: [{apiVersion: approval.example.dev/v1, kind: 'approval task'}]}\n",
		"spec.customTasks.noPods[0].kind", "spec.customTasks.noPods[0].kind: Invalid value"},
	{"duplicate", "  customTasks: {noPods: [{apiVersion: approval.example.dev/v1, kind: Approval}, {apiVersion: approval.example.dev/v1, kind: Approval}]}\n",
		"spec.customTasks.noPods[1].apiVersion", "spec.customTasks.noPods[1]: Duplicate value"},
	{"unknown field", "  customTasks: {noPods: [{apiVersion: approval.example.dev/v1, kind: Approval, name: x}]}\n",
		"unknown field: spec.customTasks.noPods[0].name", "spec.customTasks.noPods[0].name: Invalid value: null: unknown field"},
}

func TestInvalidCustomTaskPoliciesAreRejectedByBoth(t *testing.T) {
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		for _, tt := range invalidCustomTasks {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				doc := document(t, kind, tt.spec)
				rejectedByBoth(t, c, doc, tt.goWant, tt.crdWant)
			})
		}
	}
}

// TestCustomTaskKindValuesAgree: the schema's patterns for apiVersion and
// kind re-implement the Go checks; both must give the same verdict.
func TestCustomTaskKindValuesAgree(t *testing.T) {
	c := loadCRD(t, crdFiles[v1alpha1.KindClusterSecurityGate])
	for _, f := range []struct {
		name     string
		template string
		values   []string
	}{{
		name:     "apiVersion",
		template: "  customTasks: {noPods: [{apiVersion: %s, kind: Approval}]}\n",
		values: []string{"approval.example.dev/v1", "wait.testing.tekton.dev/v1beta1", "a/v1", "example/v1", "tekton.dev/v1",
			"tekton.dev/v1beta1", "Example.dev/v1", "example.dev", "example.dev/", "/v1", "example.dev/v1/x", "-x.dev/v1", "x..dev/v1", ""},
	}, {
		name:     "kind",
		template: "  customTasks: {noPods: [{apiVersion: approval.example.dev/v1, kind: %s}]}\n",
		values:   []string{"Approval", "approval", "A1", "1A", "Approval-Task", "approval task", "", strings.Repeat("A", 63), strings.Repeat("A", 64)},
	}} {
		accepted, rejected := 0, 0
		for _, v := range f.values {
			t.Run(fmt.Sprintf("%s=%q", f.name, v), func(t *testing.T) {
				doc := document(t, v1alpha1.KindClusterSecurityGate, fmt.Sprintf(f.template, fmt.Sprintf("%q", v)))
				_, goErr := v1alpha1.ParsePolicy(doc)
				crdErrs := c.validate(toMap(t, doc))
				if (goErr == nil) != (len(crdErrs) == 0) {
					t.Errorf("disagreement on %q:\n  Go:  %v\n  CRD: %v", v, goErr, crdErrs.ToAggregate())
				}
				if goErr == nil {
					accepted++
				} else {
					rejected++
				}
			})
		}
		if accepted == 0 || rejected == 0 {
			t.Errorf("%s: %d accepted, %d rejected: the table must exercise both", f.name, accepted, rejected)
		}
	}
}

func TestValidCustomTaskPoliciesAreAcceptedByBoth(t *testing.T) {
	const spec = "  customTasks:\n    noPods:\n    - {apiVersion: wait.testing.tekton.dev/v1beta1, kind: Wait}\n    - {apiVersion: approval.example.dev/v1alpha1, kind: ApprovalTask}\n"
	for kind, file := range crdFiles {
		c := loadCRD(t, file)
		t.Run(kind, func(t *testing.T) {
			doc := document(t, kind, spec)
			p, err := v1alpha1.ParsePolicy(doc)
			if err != nil {
				t.Fatalf("Go validation: %v", err)
			}
			if errs := c.validate(toMap(t, doc)); len(errs) > 0 {
				t.Fatalf("CRD validation: %v", errs.ToAggregate())
			}
			if !p.Spec.CustomTasks.RunsNoPods("wait.testing.tekton.dev/v1beta1", "Wait") {
				t.Errorf("parsed policy lost its customTasks: %+v", p.Spec.CustomTasks)
			}
		})
	}
}
