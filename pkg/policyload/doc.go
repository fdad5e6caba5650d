// Package policyload is the one way a policy becomes ready for a
// verification, shared by the controller and `security-gate verify
// --policy-name`: get it (Getter), apply its defaults and validate it
// (v1alpha1.DefaultAndValidate), and say where its key.secretRefs may be
// read (SecretKeys). An inline customSpec is read with the same strict
// decoder as a policy file (v1alpha1.DecodeSpec).
//
// Errors say what they are in pkg/transient's terms: an API server that did
// not answer is transient (try again later); a policy that does not exist,
// may not be read, or is invalid (*v1alpha1.InvalidPolicyError, one field
// problem each) is not. Which kinds a run may select is the controller's
// business (config-security-gate), not this package's.
package policyload
