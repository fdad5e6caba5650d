// Package bundle reads Tekton bundles: OCI images whose layers each carry one
// Tekton object, as Tekton's bundles resolver reads them.
//
// The contract checked here (each break is reported naming its rule):
//
//   - the manifest is an image manifest with at most 20 layers;
//   - every layer has the annotations dev.tekton.image.name,
//     dev.tekton.image.kind (lowercase and singular: "task", not "Tasks")
//     and dev.tekton.image.apiVersion;
//   - no two layers share a kind and name (a lookup would be ambiguous);
//   - a layer is a tar holding exactly one file, or a raw layer holding the
//     object itself (Tekton accepts both);
//   - the layer holds exactly one Tekton object (Pipeline, Task or
//     StepAction) whose kind and name are the annotations'.
//
// Bundles are read by digest only, so what was verified is what is read.
// Reads go through pkg/oci (size caps, timeouts, retries); a layer is also
// capped after decompression.
package bundle
