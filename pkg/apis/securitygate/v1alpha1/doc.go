// Package v1alpha1 is the v1alpha1 version of the security-gate policy API:
// SecurityGate (namespaced) and ClusterSecurityGate (cluster-scoped), which
// share one SecurityGateSpec. Types (types.go, with the kubebuilder markers the
// CRDs in config/300-*.yaml are generated from), defaults (defaults.go),
// validation (validation.go), strict parsing of a policy file (parse.go) and
// small helpers shared by the engine, the CLI and the controller (helpers.go)
// live in separate files; deep-copy functions, the clientset, listers,
// informers, knative injection and the CRDs are generated
// (hack/update-codegen.sh) and checked by test/crd.
//
// +k8s:deepcopy-gen=package
// +groupName=securitygate.dev
package v1alpha1
