package catalog

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"sigs.k8s.io/yaml"
)

// The catalog entry under test, relative to this package: every version
// directory tasks/security-gate/<version>/ is tested, the latest one also
// for what only it promises.
const (
	catalogRoot = "../../tasks"
	taskName    = "security-gate"
)

// koImage is the placeholder `ko resolve` replaces with a digest-pinned
// image at release time.
const koImage = "ko://github.com/security-gate/security-gate/cmd/security-gate"

func taskDir(version string) string { return filepath.Join(catalogRoot, taskName, version) }

// versions lists the version directories of the Task, oldest first
// (numeric order of their dot-separated parts).
func versions(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(catalogRoot, taskName))
	if err != nil {
		t.Fatal(err)
	}
	version := regexp.MustCompile(`^\d+\.\d+$`)
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if !version.MatchString(e.Name()) {
			t.Errorf("%s: a catalog version directory must be named <major>.<minor>", filepath.Join(catalogRoot, taskName, e.Name()))
			continue
		}
		out = append(out, e.Name())
	}
	if len(out) == 0 {
		t.Fatalf("no version directory under %s", filepath.Join(catalogRoot, taskName))
	}
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i], out[j]) })
	return out
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range pa {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return false
}

// latest is the newest version: the one the README and the admission
// policy point at.
func latest(t *testing.T) string {
	v := versions(t)
	return v[len(v)-1]
}

// forEachVersion runs f as a subtest per version directory.
func forEachVersion(t *testing.T, f func(t *testing.T, version string)) {
	for _, v := range versions(t) {
		t.Run(v, func(t *testing.T) { f(t, v) })
	}
}

// loadTask reads the catalog Task strictly: an unknown field (a typo such as
// "securityContex") is an error, not silently dropped.
func loadTask(t *testing.T, version string) *v1.Task {
	t.Helper()
	path := filepath.Join(taskDir(version), taskName+".yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var task v1.Task
	if err := yaml.UnmarshalStrict(data, &task); err != nil {
		t.Fatalf("%s: not a tekton.dev/v1 Task: %v", path, err)
	}
	if task.APIVersion != "tekton.dev/v1" || task.Kind != "Task" {
		t.Fatalf("%s: apiVersion/kind = %s/%s, want tekton.dev/v1/Task", path, task.APIVersion, task.Kind)
	}
	return &task
}

func TestTaskValidatesWithTekton(t *testing.T) {
	forEachVersion(t, func(t *testing.T, version string) {
		task := loadTask(t, version)
		ctx := context.Background()
		task.SetDefaults(ctx)
		if err := task.Validate(ctx); err != nil {
			t.Fatalf("Task %s is rejected by Tekton's validation: %v", task.Name, err)
		}
	})
}

func TestTaskCatalogMetadata(t *testing.T) {
	forEachVersion(t, func(t *testing.T, version string) {
		task := loadTask(t, version)
		if task.Name != taskName {
			t.Errorf("metadata.name = %q, want %q: the catalog requires <name>/<version>/<name>.yaml", task.Name, taskName)
		}
		if got := task.Labels["app.kubernetes.io/version"]; got != version {
			t.Errorf("label app.kubernetes.io/version = %q, want %q (the directory version)", got, version)
		}
		semver := regexp.MustCompile(`^v?\d+\.\d+\.\d+$`)
		platform := regexp.MustCompile(`^[a-z0-9]+/[a-z0-9]+(/v\d+)?$`)
		for _, tc := range []struct {
			key   string
			valid func(string) bool
			want  string
		}{
			{"tekton.dev/pipelines.minVersion", semver.MatchString, "a version such as 0.50.0"},
			{"tekton.dev/categories", nonEmptyList, "a comma-separated list of categories"},
			{"tekton.dev/tags", nonEmptyList, "a comma-separated list of tags"},
			{"tekton.dev/displayName", func(s string) bool { return strings.TrimSpace(s) != "" }, "a display name"},
			{"tekton.dev/platforms", func(s string) bool {
				return nonEmptyList(s) && allItems(s, platform.MatchString)
			}, "a comma-separated list of os/arch"},
		} {
			v, ok := task.Annotations[tc.key]
			if !ok {
				t.Errorf("annotation %s is missing: want %s", tc.key, tc.want)
				continue
			}
			if !tc.valid(v) {
				t.Errorf("annotation %s = %q: want %s", tc.key, v, tc.want)
			}
		}
		if links, ok := task.Annotations["artifacthub.io/links"]; ok {
			var l []struct{ Name, URL string }
			if err := yaml.UnmarshalStrict([]byte(links), &l); err != nil || len(l) == 0 {
				t.Errorf("annotation artifacthub.io/links = %q: want a YAML list of {name, url} (%v)", links, err)
			}
		}
		if changes, ok := task.Annotations["artifacthub.io/changes"]; ok {
			var c []struct{ Kind, Description string }
			if err := yaml.UnmarshalStrict([]byte(changes), &c); err != nil || len(c) == 0 {
				t.Errorf("annotation artifacthub.io/changes = %q: want a YAML list of {kind, description} (%v)", changes, err)
			}
			for _, e := range c {
				switch e.Kind {
				case "added", "changed", "deprecated", "removed", "fixed", "security":
				default:
					t.Errorf("annotation artifacthub.io/changes: kind %q, want added, changed, deprecated, removed, fixed or security", e.Kind)
				}
				if strings.TrimSpace(e.Description) == "" {
					t.Errorf("annotation artifacthub.io/changes: an entry of kind %q has no description", e.Kind)
				}
			}
		}
		if links, ok := task.Annotations["artifacthub.io/links"]; ok && !strings.Contains(links, "/tasks/"+taskName+"/"+version) {
			t.Errorf("annotation artifacthub.io/links does not point at this version's directory tasks/%s/%s", taskName, version)
		}
		if task.Spec.Description == "" {
			t.Error("spec.description is empty: Artifact Hub shows it as the summary")
		}
		repo := filepath.Join(catalogRoot, "artifacthub-repo.yml")
		data, err := os.ReadFile(repo)
		if err != nil {
			t.Fatalf("%s: %v", repo, err)
		}
		var meta struct {
			RepositoryID string `json:"repositoryID"`
			Owners       []struct{ Name, Email string }
			Ignore       []struct{ Name, Version string }
		}
		if err := yaml.UnmarshalStrict(data, &meta); err != nil {
			t.Errorf("%s: not valid Artifact Hub repository metadata: %v", repo, err)
		}
	})
}

func nonEmptyList(s string) bool { return allItems(s, func(i string) bool { return i != "" }) }

func allItems(s string, ok func(string) bool) bool {
	for _, item := range strings.Split(s, ",") {
		if !ok(strings.TrimSpace(item)) {
			return false
		}
	}
	return strings.TrimSpace(s) != ""
}

// TestTaskContract pins what pipelines and the controller's users rely on:
// the params and results of the custom task, the ko image placeholder, and a
// step that runs restricted.
func TestTaskContract(t *testing.T) {
	forEachVersion(t, func(t *testing.T, version string) {
		task := loadTask(t, version)
		params := map[string]v1.ParamType{}
		for _, p := range task.Spec.Params {
			params[p.Name] = p.Type
		}
		for name, typ := range map[string]v1.ParamType{"policy": v1.ParamTypeString, "images": v1.ParamTypeArray} {
			if got, ok := params[name]; !ok || got != typ {
				t.Errorf("param %q: type %q (present %v), want %q", name, got, ok, typ)
			}
		}
		results := map[string]bool{}
		for _, r := range task.Spec.Results {
			results[r.Name] = true
			if r.Type != "" && r.Type != v1.ResultsTypeString {
				t.Errorf("result %q has type %q: want string, as the custom task's results are", r.Name, r.Type)
			}
		}
		for _, name := range []string{"verdict", "violations", "report", "verified-images"} {
			if !results[name] {
				t.Errorf("result %q is missing: the Task must write the same results as the custom task", name)
			}
		}
		if len(task.Spec.Steps) == 0 {
			t.Fatal("spec.steps is empty")
		}
		for _, s := range task.Spec.Steps {
			if s.Image != koImage {
				t.Errorf("step %q image = %q, want the ko placeholder %q (resolved and pinned by digest at release)", s.Name, s.Image, koImage)
			}
			sc := s.SecurityContext
			if sc == nil {
				t.Errorf("step %q has no securityContext: want the restricted settings", s.Name)
				continue
			}
			if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Errorf("step %q: securityContext.runAsNonRoot must be true", s.Name)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("step %q: securityContext.allowPrivilegeEscalation must be false", s.Name)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("step %q: securityContext.readOnlyRootFilesystem must be true", s.Name)
			}
			if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
				t.Errorf("step %q: securityContext.capabilities must drop [ALL] and add nothing, got %+v", s.Name, sc.Capabilities)
			}
			if sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" {
				t.Errorf("step %q: securityContext.seccompProfile.type must be RuntimeDefault", s.Name)
			}
		}
	})
}

// TestReadmeDocumentsParamsAndResults keeps README.md in step with the YAML.
func TestReadmeDocumentsParamsAndResults(t *testing.T) {
	forEachVersion(t, func(t *testing.T, version string) {
		task := loadTask(t, version)
		path := filepath.Join(taskDir(version), "README.md")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		readme := string(data)
		for _, p := range task.Spec.Params {
			if !strings.Contains(readme, "`"+p.Name+"`") {
				t.Errorf("%s does not document param `%s`", path, p.Name)
			}
		}
		for _, r := range task.Spec.Results {
			if !strings.Contains(readme, "`"+r.Name+"`") {
				t.Errorf("%s does not document result `%s`", path, r.Name)
			}
		}
	})
}

// TestSamplesValidateWithTekton: every Tekton object under samples/ is valid.
func TestSamplesValidateWithTekton(t *testing.T) {
	forEachVersion(t, func(t *testing.T, version string) {
		dir := filepath.Join(taskDir(version), "samples")
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: want at least one sample (%v)", dir, err)
		}
		ctx := context.Background()
		tekton := 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for i, doc := range splitYAML(data) {
				var head struct{ APIVersion, Kind string }
				if err := yaml.Unmarshal(doc, &head); err != nil {
					t.Errorf("%s document %d: %v", f, i, err)
					continue
				}
				if head.APIVersion != "tekton.dev/v1" {
					continue
				}
				tekton++
				var err error
				switch head.Kind {
				case "PipelineRun":
					var pr v1.PipelineRun
					if err = yaml.UnmarshalStrict(doc, &pr); err == nil {
						// The API server turns generateName into a name before
						// validating webhooks see the object.
						if pr.Name == "" && pr.GenerateName != "" {
							pr.Name = pr.GenerateName + "x1y2z"
						}
						pr.SetDefaults(ctx)
						if ferr := pr.Validate(ctx); ferr != nil {
							err = ferr
						}
					}
				case "Pipeline":
					var p v1.Pipeline
					if err = yaml.UnmarshalStrict(doc, &p); err == nil {
						p.SetDefaults(ctx)
						if ferr := p.Validate(ctx); ferr != nil {
							err = ferr
						}
					}
				default:
					t.Errorf("%s document %d: kind %s has no validation in this test", f, i, head.Kind)
					continue
				}
				if err != nil {
					t.Errorf("%s document %d (%s): rejected by Tekton: %v", f, i, head.Kind, err)
				}
			}
		}
		if tekton == 0 {
			t.Errorf("%s: no tekton.dev/v1 sample", dir)
		}
	})
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
