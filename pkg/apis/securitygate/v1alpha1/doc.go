// Package v1alpha1 is the v1alpha1 version of the security-gate policy API:
// SecurityGate (namespaced) and ClusterSecurityGate (cluster-scoped), which
// share one SecurityGateSpec. Types, defaults and validation live in separate
// files; deep-copy functions are generated (hack/update-codegen.sh).
//
// +k8s:deepcopy-gen=package
// +groupName=securitygate.dev
package v1alpha1
