// Command bundle-push pushes Tekton objects (Tasks, Pipelines, StepActions)
// as a Tekton bundle: one OCI image, one layer per object, each layer a tar
// holding exactly one file (the object's YAML), annotated with
// dev.tekton.image.{name,kind,apiVersion}. It prints the pushed reference by
// digest (repo@sha256:...), which is what a release signs and what a
// pipeline pins.
//
// Usage:
//
//	bundle-push -f task.yaml [-f more.yaml ...] -t registry/repo:tag
//
// It lives in the root module so it builds with the pinned
// go-containerregistry, and it checks every object before pushing: a bundle
// the gate (pkg/bundle) or Tekton's resolver would refuse is never published.
// Credentials come from authn.DefaultKeychain (the docker config).
package main
