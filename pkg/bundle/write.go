package bundle

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Source is one object to put into a bundle: its YAML and the identity
// written into its layer's annotations.
type Source struct {
	// Kind is the object's kind as written (Task); the annotation is its
	// lowercase form, as the bundles resolver requires.
	Kind string
	Name string
	// APIVersion is group/version (tekton.dev/v1); the annotation carries the
	// version alone, as `tkn bundle push` writes it.
	APIVersion string
	YAML       []byte
}

// Build assembles a Tekton bundle the way Read expects one: an OCI image with
// one layer per object, each a tar holding exactly one file (the object's
// YAML), annotated dev.tekton.image.{name,kind,apiVersion}. It checks only
// what it must to write a well-formed layer; callers validate the objects.
func Build(objs []Source) (v1.Image, error) {
	if len(objs) > MaxObjects {
		return nil, fmt.Errorf("%d objects: a bundle holds at most %d", len(objs), MaxObjects)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, o := range objs {
		if o.Kind == "" || o.Name == "" {
			return nil, fmt.Errorf("bundle object %q of kind %q: kind and name are required", o.Name, o.Kind)
		}
		layer, err := singleFileLayer(o.Name, o.YAML)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", o.Kind, o.Name, err)
		}
		_, version, found := strings.Cut(o.APIVersion, "/")
		if !found {
			version = o.APIVersion
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, Annotations: map[string]string{
			AnnotationName:       o.Name,
			AnnotationKind:       strings.ToLower(o.Kind),
			AnnotationAPIVersion: version,
		}})
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", o.Kind, o.Name, err)
		}
	}
	return img, nil
}

// singleFileLayer is an uncompressed OCI layer: a tar with one regular file.
func singleFileLayer(fileName string, data []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: fileName, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
}
