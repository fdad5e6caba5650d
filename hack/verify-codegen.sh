#!/usr/bin/env bash
# Fails when the committed generated code or CRDs differ from what
# hack/update-codegen.sh produces from the current types. It regenerates into a
# scratch copy of the inputs, so the working tree is never modified.
#
# Usage: hack/verify-codegen.sh

set -o errexit
set -o nounset
set -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "${SCRATCH}"' EXIT

# The inputs of the generators: the module definition, the API package and the
# header. Nothing else is needed to load the API package.
mkdir -p "${SCRATCH}/hack" "${SCRATCH}/pkg/apis" "${SCRATCH}/config"
cp "${REPO_ROOT}/go.mod" "${REPO_ROOT}/go.sum" "${SCRATCH}/"
cp "${REPO_ROOT}/hack/boilerplate.go.txt" "${SCRATCH}/hack/"
cp -R "${REPO_ROOT}/pkg/apis/securitygate" "${SCRATCH}/pkg/apis/"

"${REPO_ROOT}/hack/update-codegen.sh" "${SCRATCH}" >/dev/null

ret=0
# Only the generated deepcopy file is compared under pkg/apis: the rest of that
# tree is the input itself.
diff -u "${REPO_ROOT}/pkg/apis/securitygate/v1alpha1/zz_generated.deepcopy.go" \
	"${SCRATCH}/pkg/apis/securitygate/v1alpha1/zz_generated.deepcopy.go" || ret=1
for d in clientset listers informers injection; do
	diff -Nru "${REPO_ROOT}/pkg/client/${d}" "${SCRATCH}/pkg/client/${d}" || ret=1
done
for f in 300-securitygate.yaml 300-clustersecuritygate.yaml; do
	diff -Nu "${REPO_ROOT}/config/${f}" "${SCRATCH}/config/${f}" || ret=1
done

if [[ ${ret} -ne 0 ]]; then
	echo "generated code is stale: run hack/update-codegen.sh" >&2
	exit 1
fi
echo "generated code is up to date"
