package crd

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// repoRoot is the repository root, found from this file's location so the
// tests run from any working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// crdSchema is one CRD version's schema, ready to validate objects the way the
// API server does on create.
type crdSchema struct {
	crd        *apiextensionsv1.CustomResourceDefinition
	internal   *apiextensionsinternal.CustomResourceDefinition
	structural *schema.Structural
	validator  validation.SchemaValidator
	cel        *cel.Validator
}

func loadCRD(t testing.TB, name string) *crdSchema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "config", name))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(raw, crd); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// The API server defaults a CRD before validating and storing it.
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd)
	internal := &apiextensionsinternal.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
		t.Fatalf("%s: convert: %v", name, err)
	}
	// The internal form hoists a schema shared by every version to the top.
	validationSpec := internal.Spec.Validation
	if len(internal.Spec.Versions) == 1 && internal.Spec.Versions[0].Schema != nil {
		validationSpec = internal.Spec.Versions[0].Schema
	}
	if len(internal.Spec.Versions) != 1 || validationSpec == nil {
		t.Fatalf("%s: want exactly one version with a schema", name)
	}
	props := validationSpec.OpenAPIV3Schema
	structural, err := schema.NewStructural(props)
	if err != nil {
		t.Fatalf("%s: not a structural schema: %v", name, err)
	}
	validator, _, err := validation.NewSchemaValidator(props)
	if err != nil {
		t.Fatalf("%s: schema validator: %v", name, err)
	}
	return &crdSchema{
		crd:        crd,
		internal:   internal,
		structural: structural,
		validator:  validator,
		cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}
}

// validate runs what the API server runs on create with
// fieldValidation=Strict: unknown fields, defaulting, the OpenAPI schema,
// list-type invariants and the CEL rules. obj is changed by defaulting.
func (c *crdSchema) validate(obj map[string]any) field.ErrorList {
	var errs field.ErrorList
	for _, p := range pruning.PruneWithOptions(obj, c.structural, true, schema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		errs = append(errs, field.Invalid(field.NewPath(p), nil, "unknown field"))
	}
	defaulting.Default(obj, c.structural)
	errs = append(errs, validation.ValidateCustomResource(nil, obj, c.validator)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, c.structural, obj)...)
	celErrs, _ := c.cel.Validate(context.Background(), nil, c.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// validateCRD is what the API server checks when the CRD itself is applied,
// including that every CEL rule compiles and fits the cost limits.
func (c *crdSchema) validateCRD() field.ErrorList {
	return crdvalidation.ValidateCustomResourceDefinition(context.Background(), c.internal)
}
