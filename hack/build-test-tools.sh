#!/usr/bin/env bash
# Builds the binaries the integration tests and benchmarks run into .cache/bin:
#   cosign2  github.com/sigstore/cosign/v2/cmd/cosign  (pinned in test/tools/go.mod)
#   cosign3  github.com/sigstore/cosign/v3/cmd/cosign  (pinned in test/tools/cosign3/go.mod)
#   ko       github.com/google/ko                      (pinned in hack/tools/go.mod)
# Idempotent: a binary is rebuilt only when its module files or the Go version
# changed since it was built (a stamp file records their hash).
# Usage: hack/build-test-tools.sh [cosign2|cosign3|ko ...]   (default: all)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${root}/.cache/bin"
mkdir -p "${bin}"

# name -> "module dir|package"
declare -A tools=(
  [cosign2]="test/tools|github.com/sigstore/cosign/v2/cmd/cosign"
  [cosign3]="test/tools/cosign3|github.com/sigstore/cosign/v3/cmd/cosign"
  [ko]="hack/tools|github.com/google/ko"
)

build() {
  local name="$1" dir pkg stamp want
  IFS='|' read -r dir pkg <<<"${tools[$name]}"
  stamp="${bin}/.${name}.stamp"
  want="$(cd "${root}/${dir}" && cat go.mod go.sum && go version && echo "CGO_ENABLED=0")"
  want="$(printf '%s' "${want}" | sha256sum | cut -d' ' -f1)"
  if [[ -x "${bin}/${name}" && -f "${stamp}" && "$(cat "${stamp}")" == "${want}" ]]; then
    echo "${name}: up to date"
    return
  fi
  echo "${name}: building ${pkg} (module ${dir})"
  local start=${SECONDS}
  # -trimpath keeps builds reproducible; the module's go.sum is authoritative.
  # Static (CGO_ENABLED=0), as cosign's Linux release is built and ours are
  # (.ko.yaml): hack/bench.sh times cosign beside our CLI, and a dynamically
  # linked binary pays the loader and libc at every start.
  (cd "${root}/${dir}" && CGO_ENABLED=0 go build -trimpath -o "${bin}/${name}.tmp" "${pkg}")
  mv "${bin}/${name}.tmp" "${bin}/${name}"
  printf '%s\n' "${want}" >"${stamp}"
  echo "${name}: built in $((SECONDS - start))s"
}

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then names=(cosign2 cosign3 ko); fi
for n in "${names[@]}"; do
  if [[ -z "${tools[$n]+x}" ]]; then echo "unknown tool: $n" >&2; exit 1; fi
  build "$n"
done
