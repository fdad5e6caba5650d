#!/usr/bin/env bash
# Runs the Kyverno admission-policy tests in test/kyverno with the Kyverno CLI.
#
# The CLI is built from the pinned tools module hack/tools/kyverno into
# .cache/bin/kyverno. A cold build takes several minutes, so it is skipped when
# the cached binary already reports the pinned version.
#
# Usage: hack/kyverno-test.sh [--build-only] [TEST_DIR...]
#   TEST_DIR defaults to every directory under test/kyverno.
# Exits non-zero when the build fails or any test fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${ROOT}/hack/tools/kyverno"
BIN_DIR="${ROOT}/.cache/bin"
KYVERNO="${BIN_DIR}/kyverno"

# The version is read from the tools module so go.mod is the single source.
KYVERNO_VERSION="$(cd "${TOOLS_DIR}" && go list -m -f '{{.Version}}' github.com/kyverno/kyverno)"

build_only=false
if [[ "${1:-}" == "--build-only" ]]; then
  build_only=true
  shift
fi

have_pinned_cli() {
  [[ -x "${KYVERNO}" ]] || return 1
  # `kyverno version` prints "Version: <v>"; compare exactly, so a binary
  # built from another version is rebuilt rather than silently reused.
  "${KYVERNO}" version 2>/dev/null | grep -qx "Version: ${KYVERNO_VERSION}"
}

if ! have_pinned_cli; then
  echo ">> building kyverno CLI ${KYVERNO_VERSION} into ${KYVERNO} (cold build takes minutes)" >&2
  mkdir -p "${BIN_DIR}"
  start=$(date +%s)
  (
    cd "${TOOLS_DIR}"
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=${KYVERNO_VERSION}" \
      -o "${KYVERNO}.tmp" github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno
  )
  mv "${KYVERNO}.tmp" "${KYVERNO}"
  echo ">> built in $(( $(date +%s) - start ))s" >&2
  have_pinned_cli || { echo "built ${KYVERNO} does not report ${KYVERNO_VERSION}" >&2; exit 1; }
fi

if ${build_only}; then
  exit 0
fi

if [[ $# -eq 0 ]]; then
  set -- "${ROOT}/test/kyverno"
fi

status=0
for dir in "$@"; do
  # `kyverno test DIR` walks DIR recursively and runs every kyverno-test.yaml.
  # --require-tests makes a directory without tests an error instead of a pass;
  # --detailed-results prints every rule result so a reviewer can see the
  # pass/fail resources, not only totals.
  if ! "${KYVERNO}" test "${dir}" --require-tests --detailed-results --remove-color; then
    status=1
  fi
done

if [[ ${status} -ne 0 ]]; then
  echo "FAIL: kyverno policy tests failed" >&2
fi
exit ${status}
