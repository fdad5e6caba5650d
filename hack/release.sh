#!/usr/bin/env bash
# Builds and publishes a release:
#   release.yaml                   the install manifests (ko resolve -f config/),
#                                  images pinned by digest
#   dist/security-gate-task.yaml   the catalog Task, its step image pinned by digest
#   ${KO_DOCKER_REPO}/task/security-gate:${VERSION}
#                                  the Task as a Tekton bundle, signed with cosign
#                                  when COSIGN_KEY is set, so the gate can verify
#                                  itself
#
# Environment:
#   KO_DOCKER_REPO  (required) where images and the bundle are pushed
#   VERSION         (required) linked into the binaries, tags images and the bundle
#   COSIGN_KEY      cosign private key (file or KMS URI); unset: the bundle is not signed
#   COSIGN_PASSWORD its password (read by cosign)
#   RELEASE_TLOG    "false" to sign without uploading to the transparency log
#                   (offline/air-gapped; verifiers then need ignoreTlog)
#   OUTPUT_DIR      where release.yaml and dist/ are written (default: the repository root)
#   PLATFORMS       ko --platform value (default: .ko.yaml defaultPlatforms)
#   KO_DEFAULTBASEIMAGE  overrides .ko.yaml's base image (read by ko)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
bin="${root}/.cache/bin"
out="${OUTPUT_DIR:-${root}}"

die() { echo "release: $*" >&2; exit 1; }

[[ -n "${KO_DOCKER_REPO:-}" ]] || die "KO_DOCKER_REPO is not set: set it to the registry repository to publish to (e.g. ghcr.io/ORG/security-gate)"
[[ -n "${VERSION:-}" ]] || die "VERSION is not set: set it to the release version (e.g. v0.1.0); it is linked into the binaries and tags the images and the Task bundle"
# A tag allows [A-Za-z0-9_.-], at most 128 characters, not starting with . or -.
[[ "${VERSION}" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "VERSION ${VERSION@Q} is not a valid image tag"
KO_DOCKER_REPO="${KO_DOCKER_REPO%/}"
export KO_DOCKER_REPO VERSION

tlog=true
case "${RELEASE_TLOG:-true}" in
  true) ;;
  false) tlog=false ;;
  *) die "RELEASE_TLOG is ${RELEASE_TLOG@Q}: expected true or false" ;;
esac

need=()
[[ -x "${bin}/ko" ]] || need+=(ko)
[[ -n "${COSIGN_KEY:-}" && ! -x "${bin}/cosign2" ]] && need+=(cosign2)
if [[ ${#need[@]} -gt 0 ]]; then
  "${root}/hack/build-test-tools.sh" "${need[@]}"
fi

ko_flags=(--base-import-paths "--tags=${VERSION}")
if [[ -n "${PLATFORMS:-}" ]]; then ko_flags+=("--platform=${PLATFORMS}"); fi

# Write to temporary files and move into place only on success, so a failed
# release never leaves a half-written release.yaml behind.
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

echo "release: resolving config/ (VERSION=${VERSION}, KO_DOCKER_REPO=${KO_DOCKER_REPO})"
"${bin}/ko" resolve "${ko_flags[@]}" -f config/ >"${tmp}/release.yaml"

echo "release: resolving the catalog Task"
"${bin}/ko" resolve "${ko_flags[@]}" -f tasks/security-gate/0.2/security-gate.yaml >"${tmp}/security-gate-task.yaml"

for f in release.yaml security-gate-task.yaml; do
  if grep -q 'ko://' "${tmp}/${f}"; then
    die "${f}: an image is still a ko:// reference after ko resolve"
  fi
done

mkdir -p "${out}/dist"
mv "${tmp}/release.yaml" "${out}/release.yaml"
mv "${tmp}/security-gate-task.yaml" "${out}/dist/security-gate-task.yaml"

bundle_tag="${KO_DOCKER_REPO}/task/security-gate:${VERSION}"
echo "release: pushing the Task bundle to ${bundle_tag}"
go build -o "${tmp}/bundle-push" ./hack/bundle-push
bundle_ref="$("${tmp}/bundle-push" -f "${out}/dist/security-gate-task.yaml" -t "${bundle_tag}")"
[[ "${bundle_ref}" == *@sha256:* ]] || die "bundle-push printed ${bundle_ref@Q}, expected repo@sha256:..."

signed="no (COSIGN_KEY is not set)"
if [[ -n "${COSIGN_KEY:-}" ]]; then
  if [[ "${tlog}" == true ]]; then
    echo "release: signing ${bundle_ref} with ${COSIGN_KEY}, uploading to the transparency log"
  else
    echo "release: signing ${bundle_ref} with ${COSIGN_KEY}, NOT uploading to the transparency log (RELEASE_TLOG=false)"
  fi
  "${bin}/cosign2" sign --yes --key "${COSIGN_KEY}" "--tlog-upload=${tlog}" "${bundle_ref}"
  signed="yes, key ${COSIGN_KEY}, transparency log: ${tlog}"
fi
printf '%s\n' "${bundle_ref}" >"${out}/dist/security-gate-task.bundle"

cat <<SUMMARY
release: done
  version:      ${VERSION}
  manifests:    ${out}/release.yaml
  task:         ${out}/dist/security-gate-task.yaml
  task bundle:  ${bundle_ref}
  signed:       ${signed}
SUMMARY
