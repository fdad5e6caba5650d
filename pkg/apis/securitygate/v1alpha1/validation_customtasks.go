package v1alpha1

import (
	"fmt"
	"regexp"
	"strings"

	"knative.dev/pkg/apis"
)

// The patterns of CustomTaskKind's schema: an API group (DNS subdomain)
// and a version, and a Go-style kind name.
var (
	customTaskAPIVersion = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[a-z0-9]+$`)
	customTaskKindName   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
)

// maxCustomTaskKinds bounds customTasks.noPods, as the schema does.
const maxCustomTaskKinds = 64

// validate checks customTasks; paths are relative to it.
func (p *CustomTaskPolicy) validate() *apis.FieldError {
	if p == nil {
		return nil
	}
	var errs *apis.FieldError
	if len(p.NoPods) > maxCustomTaskKinds {
		errs = errs.Also(apis.ErrOutOfBoundsValue(len(p.NoPods), 0, maxCustomTaskKinds, "noPods"))
	}
	seen := map[CustomTaskKind]int{}
	for i, k := range p.NoPods {
		errs = errs.Also(k.validate().ViaFieldIndex("noPods", i))
		if first, dup := seen[k]; dup {
			errs = errs.Also(apis.ErrGeneric(fmt.Sprintf("duplicate custom task kind %s %s (first at noPods[%d])", k.APIVersion, k.Kind, first),
				"apiVersion", "kind").ViaFieldIndex("noPods", i))
			continue
		}
		seen[k] = i
	}
	return errs
}

func (k CustomTaskKind) validate() *apis.FieldError {
	var errs *apis.FieldError
	switch {
	case k.APIVersion == "":
		errs = errs.Also(apis.ErrMissingField("apiVersion"))
	case len(k.APIVersion) < 3 || len(k.APIVersion) > 317 || !customTaskAPIVersion.MatchString(k.APIVersion):
		errs = errs.Also(detail(apis.ErrInvalidValue(k.APIVersion, "apiVersion"), "a custom task's group/version, e.g. wait.example.dev/v1beta1"))
	case strings.HasPrefix(k.APIVersion, "tekton.dev/"):
		errs = errs.Also(detail(apis.ErrInvalidValue(k.APIVersion, "apiVersion"),
			"tekton.dev kinds run pods (a tekton.dev Pipeline custom task runs a whole pipeline); they cannot be listed as running none"))
	}
	switch {
	case k.Kind == "":
		errs = errs.Also(apis.ErrMissingField("kind"))
	case len(k.Kind) > 63 || !customTaskKindName.MatchString(k.Kind):
		errs = errs.Also(detail(apis.ErrInvalidValue(k.Kind, "kind"), "a kind name such as Approval"))
	}
	return errs
}
