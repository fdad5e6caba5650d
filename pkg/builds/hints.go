package builds

import (
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// SignedAnnotation is the annotation Chains writes on a TaskRun it is done
// with.
const SignedAnnotation = "chains.tekton.dev/signed"

// State is what Chains has done with a TaskRun.
type State string

const (
	// StatePending: Chains has not finished with the TaskRun (or is not
	// running): no verdict yet.
	StatePending State = ""
	// StateSigned: chains.tekton.dev/signed is "true". It proves nothing by
	// itself (Chains also writes it when it had no key or nothing to
	// attest): only what verifies in the registry counts.
	StateSigned State = "true"
	// StateFailed: chains.tekton.dev/signed is "failed" (storage or
	// transparency-log errors after Chains' retries).
	StateFailed State = "failed"
)

// ChainsState reads Chains' annotation on tr; any other value is pending.
func ChainsState(tr *v1.TaskRun) State {
	switch v := tr.Annotations[SignedAnnotation]; State(v) {
	case StateSigned, StateFailed:
		return State(v)
	}
	return StatePending
}

// Hinted is one artifact a TaskRun reports in a type-hinted result.
type Hinted struct {
	// Result names the result(s), e.g. "IMAGE_URL+IMAGE_DIGEST", "IMAGES".
	Result string
	// Ref is repository@sha256:<hex>.
	Ref name.Digest
	// Signed says Chains also signs it (an OCI image signature): IMAGE_URL
	// with IMAGE_DIGEST, and IMAGES. The ARTIFACT results only get
	// provenance.
	Signed bool
}

// Outputs lists the artifacts tr reports in the results Chains reads (the
// type hints of Chains v0.26): <X>IMAGE_URL with <X>IMAGE_DIGEST, IMAGES
// (separated by commas or newlines), <X>ARTIFACT_URI with
// <X>ARTIFACT_DIGEST, and <X>ARTIFACT_OUTPUTS objects {uri, digest} with
// isBuildArtifact "true". Entries that do not parse as repository@digest are
// skipped, as Chains skips them.
func Outputs(tr *v1.TaskRun) []Hinted {
	var out []Hinted
	add := func(result, ref string, signed bool) {
		d, err := name.NewDigest(strings.TrimSpace(ref))
		if err == nil {
			out = append(out, Hinted{Result: result, Ref: d, Signed: signed})
		}
	}
	pairs := func(urlSuffix, digestSuffix string, signed bool) {
		urls, digests := map[string]string{}, map[string]string{}
		for _, r := range tr.Status.Results {
			v := strings.TrimSpace(r.Value.StringVal)
			switch {
			case v == "":
			case strings.HasSuffix(r.Name, urlSuffix):
				urls[strings.TrimSuffix(r.Name, urlSuffix)] = v
			case strings.HasSuffix(r.Name, digestSuffix):
				digests[strings.TrimSuffix(r.Name, digestSuffix)] = v
			}
		}
		for prefix, u := range urls {
			if d, ok := digests[prefix]; ok {
				add(prefix+urlSuffix+"+"+prefix+digestSuffix, u+"@"+d, signed)
			}
		}
	}
	pairs("IMAGE_URL", "IMAGE_DIGEST", true)
	pairs("ARTIFACT_URI", "ARTIFACT_DIGEST", false)
	for _, r := range tr.Status.Results {
		switch {
		case r.Name == "IMAGES":
			for _, img := range strings.FieldsFunc(r.Value.StringVal, func(c rune) bool { return c == ',' || c == '\n' }) {
				if strings.TrimSpace(img) != "" {
					add(r.Name, img, true)
				}
			}
		case strings.HasSuffix(r.Name, "ARTIFACT_OUTPUTS"):
			o := r.Value.ObjectVal
			if o["isBuildArtifact"] == "true" && o["uri"] != "" && o["digest"] != "" {
				add(r.Name, o["uri"]+"@"+o["digest"], false)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Result != out[j].Result {
			return out[i].Result < out[j].Result
		}
		return out[i].Ref.String() < out[j].Ref.String()
	})
	return out
}

// Reports returns the type-hinted output of tr that is artifact
// (repository@sha256:<hex>, compared as parsed references), if any.
func Reports(tr *v1.TaskRun, artifact string) (Hinted, bool) {
	want, err := name.NewDigest(artifact)
	if err != nil {
		return Hinted{}, false
	}
	for _, h := range Outputs(tr) {
		if h.Ref.DigestStr() == want.DigestStr() && h.Ref.Context().Name() == want.Context().Name() {
			return h, true
		}
	}
	return Hinted{}, false
}
