// Package crd checks the generated CustomResourceDefinitions
// (config/300-*.yaml) against the Go API in pkg/apis/securitygate/v1alpha1:
// the CRDs are acceptable to an API server, the schema (structural validation,
// list-map keys, CEL rules) and Validate reject the same invalid policies and
// accept the same valid ones, and the generated code is not stale.
//
// Everything runs in-process with the apiextensions-apiserver libraries the
// API server itself uses; no cluster is needed.
package crd
