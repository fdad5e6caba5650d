package customrun

import (
	"context"
	"os"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
)

const samples = "../../../config/samples/"

// The samples are what a newcomer copies first: they must be valid for
// Tekton and for the policy API, and the Pipeline must keep every other task
// behind the gate and consume its verified-images.
func TestSamples(t *testing.T) {
	data, err := os.ReadFile(samples + "clustersecuritygate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := v1alpha1.ParsePolicy(data)
	if err != nil {
		t.Fatalf("sample policy: %v", err)
	}
	if p.Kind != v1alpha1.KindClusterSecurityGate || p.ObjectMeta.Name != strictPolicy {
		t.Errorf("sample policy is %s, want ClusterSecurityGate/strict", p)
	}

	data, err = os.ReadFile(samples + "pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	var pl v1.Pipeline
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &pl); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pl.SetDefaults(ctx)
	if fe := pl.Validate(ctx); fe != nil {
		t.Fatalf("sample Pipeline is invalid for Tekton: %v", fe)
	}
	var gate *v1.PipelineTask
	for i, pt := range pl.Spec.Tasks {
		if pt.TaskRef != nil && pt.TaskRef.APIVersion == APIVersion {
			gate = &pl.Spec.Tasks[i]
		}
	}
	if gate == nil || gate.TaskRef.Kind != v1alpha1.KindClusterSecurityGate || gate.TaskRef.Name != strictPolicy {
		t.Fatalf("no gate task referencing ClusterSecurityGate/strict")
	}
	if len(gate.Params) != 1 || gate.Params[0].Name != ParamImages {
		t.Errorf("gate params %v, want only %q", gate.Params, ParamImages)
	}
	pinned := false
	for _, pt := range pl.Spec.Tasks {
		if pt.Name == gate.Name {
			continue
		}
		after := false
		for _, r := range pt.RunAfter {
			after = after || r == gate.Name
		}
		if !after {
			t.Errorf("task %q does not run after the gate", pt.Name)
		}
		for _, p := range pt.Params {
			pinned = pinned || strings.Contains(p.Value.StringVal, "$(tasks."+gate.Name+".results."+ResultVerifiedImages+")")
		}
	}
	if !pinned {
		t.Errorf("no task consumes $(tasks.%s.results.%s)", gate.Name, ResultVerifiedImages)
	}
	var pr v1.PipelineRun
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &pr); err != nil {
		t.Fatalf("sample PipelineRun: %v", err)
	}
	if pr.Spec.PipelineRef == nil || pr.Spec.PipelineRef.Name != pl.Name {
		t.Errorf("sample PipelineRun does not run %s", pl.Name)
	}
}

// config-security-gate as shipped parses, and keeps the boundary closed.
func TestShippedConfigMap(t *testing.T) {
	data, err := os.ReadFile("../../../config/config-security-gate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Metadata struct{ Name, Namespace string }
		Data     map[string]string
	}
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	c, err := config.NewConfigFromMap(cm.Data)
	if err != nil {
		t.Fatalf("shipped %s: %v", config.Name, err)
	}
	if cm.Metadata.Name != config.Name || cm.Metadata.Namespace != "security-gate" {
		t.Errorf("ConfigMap %s/%s, want security-gate/%s", cm.Metadata.Namespace, cm.Metadata.Name, config.Name)
	}
	if c.AllowInlinePolicies || c.AllowNamespacedPolicies {
		t.Errorf("shipped config allows more than ClusterSecurityGate: %+v", c)
	}
	for _, k := range []string{config.KeyAllowNamespacedPolicies, config.KeyAllowInlinePolicies, config.KeyCacheTTL,
		config.KeyCacheSize, config.KeyConcurrency, config.KeyRegistryTimeout, config.KeyRetryBackoffMax} {
		if _, ok := cm.Data[k]; !ok {
			t.Errorf("shipped ConfigMap does not document %s", k)
		}
	}
}
