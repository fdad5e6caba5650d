#!/usr/bin/env bash
# `make demo`: the walk-through of examples/ on a local control plane.
#
# Builds what it needs (hack/e2e-tools.sh: etcd, kube-apiserver, Tekton;
# hack/build-test-tools.sh cosign2: the cosign CLI), then runs the demo
# program (test/e2e/demo): etcd + kube-apiserver + Tekton + a loopback
# registry, security-gate installed from config/ with its controller running
# as its own ServiceAccount (and a key of its own for verification
# summaries), the examples published and signed, a compliant and a
# non-compliant PipelineRun, and a run whose Critical finding a signed OpenVEX
# statement drops; each one's verdict, findings, notes and Tekton outcome
# printed, and each pass's verification summary verified with cosign.
# Everything it started is stopped by PID at the end.
#
#   KEEP=1 hack/demo.sh   leave it all running (in the background); prints the
#                         KUBECONFIG, the PIDs and the command that stops it.
#
# Exit status: 0 only when every run ends as examples/README.md (and, for
# the VEX run, test/e2e/demo/vexvsa.go) says.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
KEEP="${KEEP:-}"
BIN="${ROOT}/.cache/bin"
t0=$(date +%s)

echo "demo: tools (cached after the first run)"
hack/e2e-tools.sh
if [[ ! -x "${BIN}/cosign2" ]]; then
	hack/build-test-tools.sh cosign2
fi

echo "demo: building the demo program"
go build -tags e2e -o "${BIN}/security-gate-demo" ./test/e2e/demo
echo "demo: tools and build ready in $(( $(date +%s) - t0 ))s"

if [[ "${KEEP}" != "1" ]]; then
	exec "${BIN}/security-gate-demo" -cosign "${BIN}/cosign2"
fi

# KEEP=1: the demo program holds the in-process registry and is the parent
# of every process it started, so it keeps running in the background, in its
# own session (Ctrl-C here does not reach it). This script follows its output
# until it is up, then returns.
state="$(mktemp -t security-gate-demo-state.XXXXXX)"
log="$(mktemp -t security-gate-demo-log.XXXXXX)"
rm -f "${state}"
setsid "${BIN}/security-gate-demo" -keep -state "${state}" -cosign "${BIN}/cosign2" >"${log}" 2>&1 </dev/null &
pid=$!
tail -n +1 -f "${log}" --pid "${pid}" &
tailpid=$!
# Wait for the state file (ready) or for the demo to exit (it failed).
while [[ ! -s "${state}" ]] && kill -0 "${pid}" 2>/dev/null; do
	sleep 0.5
done
kill "${tailpid}" 2>/dev/null || true
wait "${tailpid}" 2>/dev/null || true
if [[ ! -s "${state}" ]]; then
	wait "${pid}" || rc=$?
	echo "demo: the demo program (pid ${pid}) exited with status ${rc:-0} before it was ready; output: ${log}"
	exit "${rc:-1}"
fi
echo
echo "demo: running in the background (pid ${pid}); output continues in ${log}"
echo "demo: state (source it in a shell): ${state}"
sed 's/^/  /' "${state}"
echo "demo: stop everything with:  kill ${pid}"
