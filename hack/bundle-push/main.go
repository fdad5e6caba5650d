package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/security-gate/security-gate/pkg/bundle"
)

// files collects repeated -f flags.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

// object is one Tekton object to put in the bundle.
type object struct {
	kind       string // as written (Task)
	name       string
	apiVersion string // group/version (tekton.dev/v1)
	data       []byte // the YAML document as given
	source     string // file and document index, for messages
}

// allowed maps the kinds a bundle may carry to the API versions accepted for
// each (the ones Tekton's bundle resolver decodes).
var allowed = map[string][]string{
	"Task":       {"tekton.dev/v1", "tekton.dev/v1beta1"},
	"Pipeline":   {"tekton.dev/v1", "tekton.dev/v1beta1"},
	"StepAction": {"tekton.dev/v1beta1", "tekton.dev/v1alpha1"},
}

func main() {
	var fs files
	tag := flag.String("t", "", "tag to push the bundle to (registry/repo:tag)")
	flag.Var(&fs, "f", "YAML file with one or more Tekton objects (repeatable)")
	flag.Parse()
	if err := run(fs, *tag, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bundle-push:", err)
		os.Exit(1)
	}
}

func run(fs []string, tag string, out io.Writer) error {
	if len(fs) == 0 {
		return errors.New("no input: give at least one -f file")
	}
	if tag == "" {
		return errors.New("no destination: give -t registry/repo:tag")
	}
	ref, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("-t %q: expected registry/repo:tag: %w", tag, err)
	}
	var objs []object
	for _, f := range fs {
		o, err := readFile(f)
		if err != nil {
			return err
		}
		objs = append(objs, o...)
	}
	if err := check(objs); err != nil {
		return err
	}
	img, err := build(objs)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("pushing bundle to %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, ref.Context().Digest(d.String()).String())
	return nil
}

// readFile splits a (multi-document) YAML file into objects; empty
// documents are skipped, anything else must name its kind, name and
// apiVersion. It does not use pkg/manifest.Parse, whose reader loop it
// shares: a bundle layer must hold each document as written, which Parse
// converts to v1 objects and cannot give back.
func readFile(path string) ([]object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var objs []object
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading document %d: %w", path, i, err)
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		var probe any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			return nil, fmt.Errorf("%s: document %d is not YAML: %w", path, i, err)
		}
		if probe == nil {
			continue // an empty document (comments, a leading ---)
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("%s: document %d: expected a Kubernetes object with apiVersion, kind and metadata.name: %w", path, i, err)
		}
		objs = append(objs, object{kind: meta.Kind, name: meta.Metadata.Name, apiVersion: meta.APIVersion,
			data: bytes.TrimSpace(doc), source: fmt.Sprintf("%s document %d", path, i)})
	}
}

// check refuses anything a Tekton bundle may not hold: kinds other than
// tekton.dev Task, Pipeline and StepAction, objects without a valid name,
// duplicates, or more objects than a bundle allows.
func check(objs []object) error {
	if len(objs) == 0 {
		return errors.New("no Tekton object in the input files")
	}
	if len(objs) > bundle.MaxObjects {
		return fmt.Errorf("%d objects given; a Tekton bundle holds at most %d", len(objs), bundle.MaxObjects)
	}
	seen := map[string]string{}
	for _, o := range objs {
		versions, ok := allowed[o.kind]
		if !ok {
			return fmt.Errorf("%s: kind %q (%s) is not allowed in a bundle; expected a tekton.dev Task, Pipeline or StepAction", o.source, o.kind, o.apiVersion)
		}
		okVersion := false
		for _, v := range versions {
			okVersion = okVersion || o.apiVersion == v
		}
		if !okVersion {
			return fmt.Errorf("%s: %s %q has apiVersion %q; expected one of %s", o.source, o.kind, o.name, o.apiVersion, strings.Join(versions, ", "))
		}
		if o.name == "" {
			return fmt.Errorf("%s: %s has no metadata.name; a bundle layer is named after its object", o.source, o.kind)
		}
		if errs := validation.IsDNS1123Subdomain(o.name); len(errs) > 0 {
			return fmt.Errorf("%s: %s metadata.name %q is not a valid name: %s", o.source, o.kind, o.name, strings.Join(errs, "; "))
		}
		id := strings.ToLower(o.kind) + "/" + o.name
		if prev, dup := seen[id]; dup {
			return fmt.Errorf("%s: %s %q is also in %s; a bundle holds one object per kind and name", o.source, o.kind, o.name, prev)
		}
		seen[id] = o.source
	}
	return nil
}

// build assembles the bundle image with pkg/bundle's writer, the
// counterpart of the reader the gate verifies bundles with.
func build(objs []object) (v1.Image, error) {
	srcs := make([]bundle.Source, len(objs))
	for i, o := range objs {
		srcs[i] = bundle.Source{Kind: o.kind, Name: o.name, APIVersion: o.apiVersion,
			YAML: append(append([]byte{}, o.data...), '\n')}
	}
	return bundle.Build(srcs)
}
