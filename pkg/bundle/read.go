package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/manifest"
	"github.com/security-gate/security-gate/pkg/oci"
)

// Layer annotations of the Tekton bundle contract.
const (
	AnnotationName       = "dev.tekton.image.name"
	AnnotationKind       = "dev.tekton.image.kind"
	AnnotationAPIVersion = "dev.tekton.image.apiVersion"
	// MaxObjects is the most layers (objects) a bundle may have.
	MaxObjects = 20
)

// Object is one layer of a bundle.
type Object struct {
	// Kind is the dev.tekton.image.kind annotation (lowercase, singular).
	Kind       string
	Name       string
	APIVersion string
	// Object is the decoded object (v1 Pipeline or Task, v1beta1
	// StepAction); nil when the layer broke the contract.
	Object runtime.Object
}

// Bundle is a bundle read from a digest.
type Bundle struct {
	Digest  name.Digest
	Objects []Object
	// Problems are contract breaks, each naming the rule; empty for a
	// well-formed bundle.
	Problems []string
}

// Find returns the object of kind (any case) and name.
func (b *Bundle) Find(kind, objName string) (*Object, bool) {
	for i := range b.Objects {
		o := &b.Objects[i]
		if strings.EqualFold(o.Kind, kind) && o.Name == objName {
			return o, true
		}
	}
	return nil, false
}

// Read reads the bundle at d and checks it against the contract. An error
// means the registry could not be read (could not decide); a malformed
// bundle is returned with Problems.
func Read(ctx context.Context, c *oci.Client, d name.Digest) (*Bundle, error) {
	b := &Bundle{Digest: d}
	desc, err := c.Get(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", d, err)
	}
	switch desc.MediaType {
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		b.Problems = append(b.Problems, fmt.Sprintf("bundle %s: manifest media type %s is not an image manifest (rule: a bundle is a single image)", d, desc.MediaType))
		return b, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", d, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", d, err)
	}
	if len(m.Layers) > MaxObjects {
		b.Problems = append(b.Problems, fmt.Sprintf("bundle %s has %d layers, more than the %d objects a Tekton bundle may hold (rule: at most %d layers)",
			d, len(m.Layers), MaxObjects, MaxObjects))
		return b, nil
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading bundle %s: %w", d, err)
	}
	seen := map[string]int{}
	limit := c.Limits().Blob
	for i, l := range m.Layers {
		where := fmt.Sprintf("bundle %s layer %d", d, i)
		o := Object{Kind: l.Annotations[AnnotationKind], Name: l.Annotations[AnnotationName], APIVersion: l.Annotations[AnnotationAPIVersion]}
		var missing []string
		for _, a := range []string{AnnotationAPIVersion, AnnotationName, AnnotationKind} {
			if l.Annotations[a] == "" {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			b.Problems = append(b.Problems, fmt.Sprintf("%s: missing annotation %s (rule: every layer names its object with %s, %s and %s)",
				where, strings.Join(missing, ", "), AnnotationName, AnnotationKind, AnnotationAPIVersion))
			continue
		}
		if strings.TrimSuffix(strings.ToLower(o.Kind), "s") != o.Kind {
			b.Problems = append(b.Problems, fmt.Sprintf("%s: annotation %s is %q, expected lowercase and singular (e.g. %q)",
				where, AnnotationKind, o.Kind, strings.TrimSuffix(strings.ToLower(o.Kind), "s")))
			continue
		}
		id := o.Kind + "/" + o.Name
		if j, dup := seen[id]; dup {
			b.Problems = append(b.Problems, fmt.Sprintf("%s: %s %q is also layer %d (rule: one object per kind and name)", where, o.Kind, o.Name, j))
			continue
		}
		seen[id] = i
		data, problem, err := readLayer(layers[i], limit)
		if err != nil {
			if oci.IsTooLarge(err) {
				b.Problems = append(b.Problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if problem != "" {
			b.Problems = append(b.Problems, where+": "+problem)
			continue
		}
		obj, problem := decode(data, o)
		if problem != "" {
			b.Problems = append(b.Problems, where+": "+problem)
			continue
		}
		o.Object = obj
		b.Objects = append(b.Objects, o)
	}
	return b, nil
}

// Check returns the contract breaks of the bundle at d.
func Check(ctx context.Context, c *oci.Client, d name.Digest) ([]string, error) {
	b, err := Read(ctx, c, d)
	if err != nil {
		return nil, err
	}
	return b.Problems, nil
}

// layer is the part of v1.Layer readLayer needs.
type layer interface {
	Uncompressed() (io.ReadCloser, error)
}

// readLayer returns the object bytes of a layer: the one file of a tar, or
// the raw layer. problem names a contract break.
func readLayer(l layer, limit int64) (data []byte, problem string, err error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = rc.Close() }() // read only
	// The blob cap bounds the compressed bytes; bound the decompressed ones
	// too, or a small gzip bomb would pass.
	raw, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(raw)) > limit {
		return nil, "", &oci.TooLargeError{Kind: "uncompressed bundle layer", Limit: limit}
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	hdr, err := tr.Next()
	if err != nil {
		// Not a tar: Tekton reads such a layer as the raw object.
		return raw, "", nil
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Sprintf("the tar's first entry %q is not a regular file (rule: a layer is a tar with exactly one file)", hdr.Name), nil
	}
	content, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Sprintf("the tar is corrupt: %v", err), nil
	}
	if next, err := tr.Next(); err == nil {
		return nil, fmt.Sprintf("the tar holds %q and %q (rule: a layer is a tar with exactly one file)", hdr.Name, next.Name), nil
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Sprintf("the tar is corrupt after %q: %v", hdr.Name, err), nil
	}
	return content, "", nil
}

// decode parses the layer's object and checks it is the one the annotations
// name.
func decode(data []byte, want Object) (runtime.Object, string) {
	docs, err := manifest.ParseBytes(data, "layer")
	if err != nil {
		return nil, fmt.Sprintf("not a Tekton object: %v", err)
	}
	if len(docs) != 1 {
		return nil, fmt.Sprintf("holds %d objects (rule: exactly one object per layer)", len(docs))
	}
	obj := docs[0].Object
	kind := strings.ToLower(kindOf(obj))
	switch kind {
	case "pipeline", "task", "stepaction":
	default:
		return nil, fmt.Sprintf("holds a %s; a bundle may hold Pipelines, Tasks and StepActions", kindOf(obj))
	}
	if kind != want.Kind {
		return nil, fmt.Sprintf("holds a %s but annotation %s says %q", kindOf(obj), AnnotationKind, want.Kind)
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err.Error()
	}
	if acc.GetName() != want.Name {
		return nil, fmt.Sprintf("holds %s %q but annotation %s says %q", kind, acc.GetName(), AnnotationName, want.Name)
	}
	return obj, ""
}

func kindOf(obj runtime.Object) string {
	t := fmt.Sprintf("%T", obj)
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return t
}
