package imports

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/security-gate/security-gate/"

// tektonAPI are Tekton's API packages. The engine models Tekton with them,
// and they carry a few packages a rule would otherwise refuse (knative's
// kmeta links client-go's cache and rest; the API types link the pipeline
// DAG from Tekton's reconciler tree): what they link is allowed
// everywhere, since no Tekton object can be read without them.
var tektonAPI = []string{
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1",
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1",
}

// Forbidden dependency families, by import path prefix.
var (
	kubeClient = []string{
		"k8s.io/client-go/", "knative.dev/pkg/injection", "knative.dev/pkg/client/",
		"github.com/tektoncd/pipeline/pkg/client/", module + "pkg/client/",
	}
	registryClient = []string{
		"github.com/google/go-containerregistry/pkg/v1/remote", module + "pkg/oci",
	}
	tektonReconciler = []string{
		"github.com/tektoncd/pipeline/pkg/reconciler/", "github.com/tektoncd/pipeline/pkg/pod",
	}
	sigstore = []string{"github.com/sigstore/"}
	// informerRegistration is what registers informers with knative's
	// injection at init: linking it makes a binary start (and need RBAC
	// for) informers, and costs every process start-up.
	informerRegistration = []string{"knative.dev/pkg/injection", "/injection/informers/"}
	// downstream are this module's packages that consume the engine's
	// report or give it what it checks; the engine links none of them.
	downstream = []string{
		module + "pkg/oci", module + "pkg/verify", module + "pkg/bundle", module + "pkg/vsa",
		module + "pkg/trustroot", module + "pkg/reconciler/", module + "pkg/pipelinerunresolver",
		module + "pkg/policyload", module + "pkg/output", module + "pkg/results", module + "pkg/manifest",
		module + "pkg/client/", module + "cmd/",
	}
)

// rule: the packages (import path prefixes, relative to the module) whose
// transitive dependencies must contain none of forbidden, apart from what
// Tekton's API packages link and the listed exceptions.
type rule struct {
	name      string
	packages  []string
	forbidden [][]string
	except    []string
	// exceptPackages are packages under packages the rule does not cover.
	exceptPackages []string
	// direct: the rule also holds for the package's own import lines,
	// with no allowance for what Tekton's API packages link.
	direct bool
}

var rules = []rule{{
	name:      "the engine links no Kubernetes client, registry client, Tekton reconciler, sigstore, nor anything downstream of it",
	packages:  []string{"pkg/gate"},
	forbidden: [][]string{kubeClient, registryClient, tektonReconciler, sigstore, downstream},
	direct:    true,
}, {
	name:     "data packages (policy API, parsers, renderers) link no Kubernetes client, registry client or sigstore",
	packages: []string{"pkg/apis/", "pkg/manifest", "pkg/output", "pkg/results", "pkg/vuln", "pkg/vex", "pkg/provenance", "pkg/transient", "pkg/version", "pkg/defaults", "pkg/cache"},
	// pkg/apis/securitygate/v1alpha1 is what the generated clients are for,
	// not the other way round.
	forbidden: [][]string{kubeClient, registryClient, tektonReconciler, sigstore},
	direct:    true,
}, {
	name:      "the CLI registers no informers and links no Tekton reconciler (process start-up)",
	packages:  []string{"cmd/security-gate"},
	forbidden: [][]string{informerRegistration, tektonReconciler},
	// Tekton's resolution/common (ResolutionRequest helpers the live-run
	// resolver uses) links this package of checks for dry-run validation;
	// it registers nothing.
	except: []string{"github.com/tektoncd/pipeline/pkg/reconciler/apiserver"},
}, {
	name:           "only the reconciler and the controller register informers",
	packages:       []string{"pkg/", "cmd/security-gate"},
	exceptPackages: []string{"pkg/reconciler/"},
	forbidden:      [][]string{informerRegistration},
}}

type pkgDeps struct {
	imports, deps []string
}

// goList returns the direct and transitive dependencies of every package of
// the module and of Tekton's API packages.
func goList(t *testing.T) map[string]pkgDeps {
	t.Helper()
	// go test puts its own toolchain first on the PATH of the test.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"list", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", "./..."}, tektonAPI...)
	cmd := exec.Command(goBin, args...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	m := map[string]pkgDeps{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list: unexpected line %q", line)
		}
		m[parts[0]] = pkgDeps{imports: strings.Fields(parts[1]), deps: strings.Fields(parts[2])}
	}
	return m
}

func matches(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) || (strings.HasPrefix(p, "/") && strings.Contains(path, p)) {
			return true
		}
	}
	return false
}

func TestImportRules(t *testing.T) {
	all := goList(t)
	carried := map[string]bool{}
	for _, api := range tektonAPI {
		p, ok := all[api]
		if !ok {
			t.Fatalf("go list did not answer for %s", api)
		}
		for _, d := range append(p.deps, api) {
			carried[d] = true
		}
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			checked := 0
			for path, p := range all {
				rel, ok := strings.CutPrefix(path, module)
				// The generated clients are what the rules keep out.
				if !ok || !matches(rel, r.packages) || matches(rel, r.exceptPackages) || strings.HasPrefix(rel, "pkg/client/") {
					continue
				}
				checked++
				var bad []string
				for _, family := range r.forbidden {
					for _, d := range p.deps {
						if matches(d, family) && !carried[d] && !slices.Contains(r.except, d) && d != path {
							bad = append(bad, d)
						}
					}
					if !r.direct {
						continue
					}
					for _, d := range p.imports {
						if matches(d, family) && !slices.Contains(bad, d) {
							bad = append(bad, d)
						}
					}
				}
				if len(bad) > 0 {
					slices.Sort(bad)
					t.Errorf("%s links %d forbidden packages: %s", rel, len(bad), strings.Join(bad[:min(len(bad), 8)], ", "))
				}
			}
			if checked == 0 {
				t.Errorf("no package matched %q", r.packages)
			}
		})
	}
}
