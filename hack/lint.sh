#!/usr/bin/env bash
# Runs golangci-lint (v2, pinned in hack/tools/lint/go.mod) with .golangci.yml
# over the root module. The binary is built into .cache/bin on first use and
# rebuilt only when the tools module or the Go version changed (a stamp file
# records their hash), so a fresh clone needs nothing installed beforehand.
# Usage: hack/lint.sh [--build-only] [golangci-lint run arguments...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${root}/.cache/bin"
mkdir -p "${bin}"

lint="${bin}/golangci-lint"
stamp="${bin}/.golangci-lint.stamp"
want="$(cd "${root}/hack/tools/lint" && cat go.mod go.sum && go version)"
want="$(printf '%s' "${want}" | sha256sum | cut -d' ' -f1)"
if [[ ! -x "${lint}" || ! -f "${stamp}" || "$(cat "${stamp}")" != "${want}" ]]; then
  echo "golangci-lint: building (module hack/tools/lint)"
  start=${SECONDS}
  (cd "${root}/hack/tools/lint" && go build -trimpath -o "${lint}.tmp" github.com/golangci/golangci-lint/v2/cmd/golangci-lint)
  mv "${lint}.tmp" "${lint}"
  printf '%s\n' "${want}" >"${stamp}"
  echo "golangci-lint: built in $((SECONDS - start))s"
fi

if [[ "${1:-}" == "--build-only" ]]; then
  exit 0
fi

cd "${root}"
# The analysis cache lives with the other build caches (git-ignored).
export GOLANGCI_LINT_CACHE="${root}/.cache/golangci-lint"
exec "${lint}" run --config "${root}/.golangci.yml" "$@" ./...
