package gate

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// unresolvedExpr returns the first `$(...)` expression left in s after
// substitution, or "".
func unresolvedExpr(s string) string {
	i := strings.Index(s, "$(")
	if i < 0 {
		return ""
	}
	depth := 0
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[i : j+1]
			}
		}
	}
	return s[i:]
}

// describeExpr says what an unresolved expression depends on.
func describeExpr(expr string) string {
	inner := strings.TrimSuffix(strings.TrimPrefix(expr, "$("), ")")
	switch {
	case strings.HasPrefix(inner, "tasks.") && strings.Contains(inner, ".results."):
		return "a result of another task"
	case strings.HasPrefix(inner, "tasks.") && strings.HasSuffix(inner, ".matrix.length"):
		return "the matrix of another task"
	case strings.HasPrefix(inner, "steps."):
		return "a result of another step"
	case strings.HasPrefix(inner, "context."):
		return "a context variable"
	case strings.HasPrefix(inner, "params"):
		return "a parameter that has no value"
	case strings.HasPrefix(inner, "workspaces."):
		return "a workspace variable"
	case strings.HasPrefix(inner, "results."):
		return "a result path"
	default:
		return "a variable"
	}
}

// checkImage applies image-reference and image-digest to the image of one
// step or sidecar (what names it, e.g. `step "build"`) and records a
// verifiable image for the registry checks.
func (r *run) checkImage(task string, subject Subject, what, image string) {
	if strings.TrimSpace(image) == "" {
		r.violation(CheckImageReference, task, subject, "%s has no image: want an image reference", what)
		return
	}
	if expr := unresolvedExpr(image); expr != "" {
		r.violation(CheckImageReference, task, subject,
			"%s image %q depends on %s (%s), which is not known before the run: the image cannot be verified, want a fixed reference or a parameter with a value",
			what, image, describeExpr(expr), expr)
		return
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		r.violation(CheckImageReference, task, subject, "%s image %q is not a valid image reference: %v", what, image, err)
		return
	}
	if r.imagesRequireDigest() {
		if _, ok := ref.(name.Digest); !ok {
			r.violation(CheckImageDigest, task, subject,
				"%s image %q is not pinned by digest: images.requireDigest wants repo@sha256:…", what, image)
		}
	}
	r.useImage(image, task)
}

// stepWhat names a step or sidecar for messages.
func stepWhat(kind, name string) string { return fmt.Sprintf("%s %q", kind, name) }
