// Package oci is security-gate's only way to talk to an OCI registry.
//
// Everything that reads from a registry goes through a Client, which keeps
// the rules that make a hostile or flaky registry harmless:
//
//   - one shared HTTP transport per process (connection reuse) and one
//     go-containerregistry Puller per Client, handed to every call with
//     remote.Reuse, so each registry is pinged (`/v2/`) and each repository
//     token is exchanged once, not once per call;
//   - one budget per request (Options.Timeout, never past the caller's
//     context deadline) covering every attempt, the backoff between them and
//     the body read, so a stalled registry turns into an error after one
//     timeout instead of a hung gate, and retries never multiply it;
//   - bounded retries with exponential backoff on transient failures (5xx,
//     408/429, connection resets) for idempotent requests, only while the
//     budget can hold the wait, then a typed *TransientError saying how many
//     attempts were made, marked transient (pkg/transient) like every other
//     failure that may go away: the transport classifies where the error
//     arises, and callers read it with transient.Is;
//   - size caps on every response (manifests 4 MiB, blobs 32 MiB by default),
//     so a registry cannot make the gate allocate without bound.
//
// IsNotFound and IsTooLarge, with transient.Is, let callers keep the three
// outcomes apart: missing content is a policy violation, a transient failure
// means "could not decide". Transport gives code that calls
// go-containerregistry itself (the verification summary writer) the same
// bounds and marking.
package oci
