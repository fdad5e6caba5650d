// Package catalog tests the Tekton catalog Tasks under tasks/: that each one
// is valid for Tekton itself ((*v1.Task).Validate of tektoncd/pipeline),
// carries the metadata Artifact Hub indexes, documents its params and results,
// and passes the security gate's own default policy. The tests read the YAML
// as shipped, so a catalog edit that breaks any of this fails `go test`.
package catalog
