#!/usr/bin/env bash
# Builds (or installs) everything the e2e suite and the demo run, into .cache/:
#   .cache/bin/etcd                      Debian's etcd-server (apt) when not on PATH
#   .cache/bin/kube-apiserver, kubectl   test/tools/kube (k8s.io/kubernetes v1.35.3)
#   .cache/bin/tekton-controller,
#   .cache/bin/tekton-resolvers          test/tools/tekton (tektoncd/pipeline v1.15.0)
#   .cache/tekton/config/                Tekton's YAML from that same module version
#   .cache/bin/ko                        hack/tools (the e2e manifests test runs
#                                        `ko resolve -f config/`)
#   .cache/bin/chains-controller         test/tools/chains (tektoncd/chains v0.26.2,
#                                        in its own module: it pins older Tekton,
#                                        Kubernetes and knative versions)
#   .cache/chains/config/                Chains' YAML from that same module version
# Idempotent: a binary is rebuilt only when its module files, ldflags or the Go
# version change (a stamp next to it records them). Prints the time of each step.
# Usage: hack/e2e-tools.sh [etcd kube-apiserver kubectl tekton-controller
#                           tekton-resolvers tekton-config ko chains-controller ...]
#                           (default: all)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${ROOT}/.cache/bin"
mkdir -p "${BIN}"

K8S_VERSION=v1.35.3
TEKTON_VERSION=v1.15.0
CHAINS_VERSION=v0.26.2

# kube-apiserver must report a real version: knative-based controllers refuse
# to start against "v0.0.0-master".
KUBE_LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35 -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION}"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# build NAME MODULE_DIR PACKAGE LDFLAGS [NICENESS [SOURCE_DIR]]
# SOURCE_DIR: our own Go sources in the module, part of the stamp.
build() {
	local name="$1" dir="$2" pkg="$3" ldflags="$4" niceness="${5:-0}" src="${6:-}"
	local out="${BIN}/${name}" stampfile="${BIN}/.${name}.stamp" stamp t0
	stamp="$( (cat "${dir}/go.mod" "${dir}/go.sum"; echo "${pkg} ${ldflags}"; go env GOVERSION
		if [[ -n "${src}" ]]; then find "${src}" -name '*.go' -print0 | sort -z | xargs -0 cat; fi) | sha256sum | cut -d' ' -f1)"
	if [[ -x "${out}" && -f "${stampfile}" && "$(cat "${stampfile}")" == "${stamp}" ]]; then
		echo "e2e-tools: ${name}: up to date"
		return
	fi
	t0="$(now)"
	echo "e2e-tools: ${name}: building ${pkg}"
	(cd "${dir}" && CGO_ENABLED=0 nice -n "${niceness}" go build -trimpath -ldflags "${ldflags}" -o "${out}.tmp" "${pkg}")
	mv "${out}.tmp" "${out}"
	echo "${stamp}" >"${stampfile}"
	echo "e2e-tools: ${name}: built in $(elapsed "${t0}")"
}

T_ALL="$(now)"
WANT=("$@")
if [[ ${#WANT[@]} -eq 0 ]]; then
	WANT=(etcd kube-apiserver kubectl tekton-controller tekton-resolvers tekton-config ko chains-controller)
fi
want() { [[ " ${WANT[*]} " == *" $1 "* ]]; }

# etcd: the Debian package; it ships no service we need, only the binary.
if want etcd && [[ ! -x "${BIN}/etcd" ]]; then
	if ! command -v etcd >/dev/null 2>&1; then
		t0="$(now)"
		SUDO=""
		[[ "$(id -u)" != 0 ]] && SUDO="sudo"
		export DEBIAN_FRONTEND=noninteractive
		if ! ${SUDO} apt-get install -y --no-install-recommends etcd-server >/dev/null; then
			${SUDO} apt-get update >/dev/null
			${SUDO} apt-get install -y --no-install-recommends etcd-server >/dev/null
		fi
		echo "e2e-tools: etcd: installed etcd-server in $(elapsed "${t0}")"
	fi
	ln -sf "$(command -v etcd)" "${BIN}/etcd"
fi
want etcd && echo "e2e-tools: etcd: $("${BIN}/etcd" --version 2>/dev/null | head -1)"

KUBE_DIR="${ROOT}/test/tools/kube"
TEKTON_DIR="${ROOT}/test/tools/tekton"

want kube-apiserver && build kube-apiserver "${KUBE_DIR}" k8s.io/kubernetes/cmd/kube-apiserver "${KUBE_LDFLAGS}"
want kubectl && build kubectl "${KUBE_DIR}" ./cmd/kubectl "${KUBE_LDFLAGS}"
want tekton-controller && build tekton-controller "${TEKTON_DIR}" github.com/tektoncd/pipeline/cmd/controller "-s -w"
want tekton-resolvers && build tekton-resolvers "${TEKTON_DIR}" github.com/tektoncd/pipeline/cmd/resolvers "-s -w"
want ko && build ko "${ROOT}/hack/tools" github.com/google/ko ""
# Chains: about 5 minutes and 1.7 GiB cold; niced so it yields to the tests.
want chains-controller && build chains-controller "${ROOT}/test/tools/chains" ./cmd/chains-controller "-s -w" 10 "${ROOT}/test/tools/chains/cmd"

# Tekton's manifests from the module cache, at the version the binaries use.
CFG="${ROOT}/.cache/tekton/config"
if want tekton-config && [[ ! -f "${ROOT}/.cache/tekton/.version" || "$(cat "${ROOT}/.cache/tekton/.version")" != "${TEKTON_VERSION}" ]]; then
	src="$(cd "${TEKTON_DIR}" && go list -m -f '{{.Dir}}' github.com/tektoncd/pipeline)/config"
	rm -rf "${CFG}"
	mkdir -p "${CFG}"
	cp -r "${src}/." "${CFG}/"
	chmod -R u+w "${CFG}"
	echo "${TEKTON_VERSION}" >"${ROOT}/.cache/tekton/.version"
	echo "e2e-tools: tekton config: copied from ${src}"
fi

# Chains' manifests (RBAC, config maps), at the version the binary uses.
CCFG="${ROOT}/.cache/chains/config"
if want chains-controller && [[ ! -f "${ROOT}/.cache/chains/.version" || "$(cat "${ROOT}/.cache/chains/.version")" != "${CHAINS_VERSION}" ]]; then
	src="$(cd "${ROOT}/test/tools/chains" && go list -m -f '{{.Dir}}' github.com/tektoncd/chains)/config"
	rm -rf "${CCFG}"
	mkdir -p "${CCFG}"
	cp -r "${src}/." "${CCFG}/"
	chmod -R u+w "${CCFG}"
	echo "${CHAINS_VERSION}" >"${ROOT}/.cache/chains/.version"
	echo "e2e-tools: chains config: copied from ${src}"
fi

echo "e2e-tools: all tools ready in $(elapsed "${T_ALL}")"
