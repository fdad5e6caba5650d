// Package interop checks that pkg/verify accepts what the real cosign CLIs
// write, and rejects what it must: cosign v2's classic .sig/.att tags, cosign
// v3's Sigstore bundles as OCI referrers (and the fallback tag it writes when
// the registry has no referrers API), key-based and keyless with a local
// certificate authority verified offline against a trusted_root.json.
//
// The tests carry the build tag integration and need the CLIs built by
// hack/build-test-tools.sh (.cache/bin/cosign2, .cache/bin/cosign3; override
// with COSIGN2/COSIGN3). Run:
//
//	hack/build-test-tools.sh && go test -tags integration -count=1 ./test/interop/
//
// Everything stays on loopback: registries are go-containerregistry's
// pkg/registry on 127.0.0.1, the CLIs run with HOME, TUF_ROOT and
// DOCKER_CONFIG in a temporary directory, a minimal environment (no proxy
// variables), no transparency-log upload and offline signing configs.
package interop
