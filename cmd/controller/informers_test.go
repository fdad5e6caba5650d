package main

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"knative.dev/pkg/injection"
	"sigs.k8s.io/yaml"
)

// knative's sharedmain starts every informer whose package is linked into
// the binary, and a controller whose informer cannot list and watch never
// becomes ready. So the informers linked are exactly what the controller
// may list and watch: this test reads the RBAC in config/ and fails when a
// new dependency links an informer (a reconciler package of Tekton's, say)
// that RBAC does not allow, or when a filtered informer, which would need
// label selectors in the context, is linked at all.

// informerGroups maps the group segment of an injection informer package
// path to the API group its resources belong to.
var informerGroups = map[string]string{
	"pipeline":     "tekton.dev",
	"resolution":   "resolution.tekton.dev",
	"securitygate": "securitygate.dev",
	"core":         "",
}

// linkedInformer is the group and resource an informer injector watches,
// from its package path .../informers/<group>/<version>/<kind>.<func>.
func linkedInformer(t *testing.T, f any) (group, resource string) {
	t.Helper()
	name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	_, path, ok := strings.Cut(name, "/informers/")
	if !ok {
		t.Fatalf("informer injector %s: not an injection informer package", name)
	}
	parts := strings.Split(path, "/")
	if len(parts) < 3 {
		t.Fatalf("informer injector %s: want .../informers/<group>/<version>/<kind>", name)
	}
	group, ok = informerGroups[parts[0]]
	if !ok {
		t.Fatalf("informer injector %s: unknown group %q", name, parts[0])
	}
	kind, _, _ := strings.Cut(parts[2], ".")
	return group, kind + "s"
}

// watchable lists group/resource pairs the controller's RBAC lets it list
// and watch.
func watchable(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, file := range []string{"200-clusterrole.yaml", "200-role.yaml"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "config", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---") {
			var role struct {
				Rules []rbacv1.PolicyRule `json:"rules"`
			}
			if err := yaml.Unmarshal([]byte(doc), &role); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, r := range role.Rules {
				if !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "watch") {
					continue
				}
				for _, g := range r.APIGroups {
					for _, res := range r.Resources {
						out[g+"/"+res] = true
					}
				}
			}
		}
	}
	return out
}

func TestLinkedInformersAreWhatRBACAllows(t *testing.T) {
	allowed := watchable(t)
	var linked []string
	for _, ii := range injection.Default.GetInformers() {
		g, r := linkedInformer(t, ii)
		linked = append(linked, g+"/"+r)
		if !allowed[g+"/"+r] {
			t.Errorf("the controller links an informer for %s/%s, which config/ RBAC does not let it list and watch", g, r)
		}
	}
	if n := len(injection.Default.GetFilteredInformers()); n > 0 {
		t.Errorf("the controller links %d filtered informers (they need label selectors in the context and RBAC on what they watch)", n)
	}
	// The ones the reconciler reads must be there.
	for _, want := range []string{"tekton.dev/customruns", "tekton.dev/pipelineruns", "resolution.tekton.dev/resolutionrequests", "securitygate.dev/clustersecuritygates"} {
		if !slices.Contains(linked, want) {
			t.Errorf("no informer for %s linked; linked: %q", want, linked)
		}
	}
}
