package examples

import (
	"embed"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Files are the example files, by path relative to examples/.
//
//go:embed *.yaml *.json noncompliant/*.yaml
var Files embed.FS

// Placeholders are every placeholder the example files use, with what each
// stands for. Render refuses a file that still holds one after substitution.
var Placeholders = map[string]string{
	"REGISTRY":               "registry host[:port][/path] the demo pushes to",
	"PUBLIC_KEY":             "PEM of the cosign public key (multi-line, indented like the placeholder)",
	"DIGEST_BUILDER":         "sha256:… of REGISTRY/demo/builder",
	"DIGEST_DEPLOYER":        "sha256:… of REGISTRY/demo/deployer",
	"DIGEST_APP":             "sha256:… of REGISTRY/demo/app",
	"DIGEST_TASKS":           "sha256:… of the signed tasks bundle REGISTRY/demo/tasks",
	"DIGEST_PIPELINE":        "sha256:… of the signed pipeline bundle REGISTRY/demo/pipeline",
	"DIGEST_UNSAFE_TASKS":    "sha256:… of the unsigned bundle REGISTRY/demo/unsafe-tasks",
	"DIGEST_UNSAFE_PIPELINE": "sha256:… of the unsigned bundle REGISTRY/demo/unsafe-pipeline",
	"SCAN_FINISHED":          "RFC 3339 time the vulnerability scan finished",
}

// placeholderRE matches a placeholder as a whole word, so REGISTRY does not
// match inside another identifier.
var placeholderRE = regexp.MustCompile(`\b[A-Z][A-Z0-9_]*[A-Z0-9]\b`)

// Render substitutes vars into data. A placeholder alone on its line (after
// indentation) whose value has several lines, such as PUBLIC_KEY, is
// replaced by every line of the value at that indentation, so a PEM lands in
// a YAML block scalar intact. Comment lines (# …) are left as written. It fails when a known placeholder is left
// without a value, naming the file, the line and the placeholder.
func Render(file string, data []byte, vars map[string]string) ([]byte, error) {
	var out strings.Builder
	var missing []string
	seen := map[string]bool{}
	for i, line := range strings.SplitAfter(string(data), "\n") {
		body := strings.TrimRight(line, "\n")
		nl := line[len(body):]
		trimmed := strings.TrimLeft(body, " ")
		if v, ok := vars[trimmed]; ok && strings.Contains(strings.TrimRight(v, "\n"), "\n") {
			indent := body[:len(body)-len(trimmed)]
			for _, l := range strings.Split(strings.TrimRight(v, "\n"), "\n") {
				out.WriteString(indent + l + "\n")
			}
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			// Comments name placeholders to explain them; they stay as written.
			out.WriteString(line)
			continue
		}
		body = placeholderRE.ReplaceAllStringFunc(body, func(w string) string {
			if v, ok := vars[w]; ok {
				if strings.Contains(strings.TrimRight(v, "\n"), "\n") {
					missing = append(missing, fmt.Sprintf("%s:%d: %s (a multi-line value must stand alone on its line)", file, i+1, w))
					return w
				}
				return v
			}
			if _, known := Placeholders[w]; known && !seen[w] {
				seen[w] = true
				missing = append(missing, fmt.Sprintf("%s:%d: %s", file, i+1, w))
			}
			return w
		})
		out.WriteString(body + nl)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("placeholders without a usable value: %s", strings.Join(missing, ", "))
	}
	return []byte(out.String()), nil
}

// RenderFile reads one of Files and renders it.
func RenderFile(path string, vars map[string]string) ([]byte, error) {
	b, err := Files.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Render(path, b, vars)
}
