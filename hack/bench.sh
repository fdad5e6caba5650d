#!/usr/bin/env bash
# make bench: the performance figures, each printed with its target as met /
# NOT met (a timing never fails the run; anything that does not verify does).
#
#  1. The CLI (test/bench, TestBench): a loopback registry with 40 signed and
#     attested images referenced by a 20-task PipelineRun, verified
#       (a) by `security-gate verify` as a cold process (median of BENCH_CLI_RUNS),
#       (b) in-process with a warm cache (BenchmarkWarmPipeline),
#       (c) by one `cosign verify` + one `cosign verify-attestation` per image;
#     and (d) the same run with 400 images. Targets: (a) at least 100x faster
#     than (c); (d) under 10x (a) with peak RSS under 100 MiB. Where (a)'s
#     time goes: process start (`version`), and a CPU profile of the cold
#     verification in-process, sorted into registry reads, signature checks
#     and the rest (.cache/bench/cli.cpu.pprof).
#  2. The controller (test/bench/controller, TestControllerThroughput): etcd,
#     kube-apiserver and our controller as processes; the harness creates the
#     gates' PipelineRuns and CustomRuns itself. Targets: 50 decisions/s with a
#     warm cache, controller RSS under 150 MiB.
#  3. End to end through Tekton (test/e2e TestTwoReplicas: Tekton creates the
#     CustomRuns, two controller replicas decide them), reported.
#
# The report is printed and kept in .cache/bench/report.txt, the logs and the
# controller's CPU profile beside it. About 5 minutes on 2 cores.
#
# Environment: BENCH_CLI_RUNS (default 9), BENCH_COSIGN_ROUNDS (3),
# BENCH_SCALE_RUNS (3), BENCH_PROFILE_RUNS (100), BENCHTIME (go test -benchtime for (b), 2s),
# BENCH_GATES (400), BENCH_SECURITY_GATE (measure this security-gate binary
# instead of building ./cmd/security-gate), BENCH_COMPARE (a second
# security-gate binary, measured like (a) right after each of its runs),
# BENCH_CONTROLLER (this controller binary instead of building
# ./cmd/controller), BENCH_ONLY=cli|controller|e2e (one part only).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
out="${root}/.cache/bench"
mkdir -p "${out}"
only="${BENCH_ONLY:-}"
report="${out}/report.txt"
rm -f "${report}"

failed=0
part() { [[ -z "${only}" || "${only}" == "$1" ]]; }

# Our binaries are built like the cosign CLI they are compared with
# (hack/build-test-tools.sh: CGO_ENABLED=0 go build -trimpath, static as both
# projects' Linux releases are), before any measurement, so that a
# measurement times a process, not a compilation.
build() {
  local name="$1" pkg="$2"
  echo "building ${name}"
  CGO_ENABLED=0 go build -trimpath -o "${out}/${name}" "${pkg}"
}

if part cli; then
  hack/build-test-tools.sh cosign2
  cli="${BENCH_SECURITY_GATE:-}"
  if [[ -z "${cli}" ]]; then
    build security-gate ./cmd/security-gate
    cli="${out}/security-gate"
  fi
  # A small launcher for the children, so their peak RSS is their own (see
  # test/bench/spawn).
  go build -tags bench -o "${out}/spawn" ./test/bench/spawn
  echo "bench: the CLI (about 2 minutes)"
  if ! BENCH_SECURITY_GATE="${cli}" \
    BENCH_SPAWN="${out}/spawn" \
    BENCH_COSIGN="${root}/.cache/bin/cosign2" \
    BENCH_REPORT="${out}/cli.txt" \
    BENCH_CLI_PROFILE="${out}/cli.cpu.pprof" \
    go test -tags bench -count=1 -timeout 20m -run '^TestBench$' \
      -benchtime="${BENCHTIME:-2s}" -v ./test/bench >"${out}/cli.log" 2>&1; then
    cat "${out}/cli.log"
    echo "bench: the CLI benchmark FAILED (log: ${out}/cli.log)" >&2
    failed=1
  else
    cat "${out}/cli.txt" >>"${report}"
  fi
fi

if part controller; then
  ctl="${BENCH_CONTROLLER:-}"
  if [[ -z "${ctl}" ]]; then
    build controller ./cmd/controller
    ctl="${out}/controller"
  fi
  echo "bench: the controller (about 1 minute)"
  # TestControllerThroughput appends its table: start from none.
  rm -f "${out}/controller.txt"
  if ! BENCH_CONTROLLER="${ctl}" \
    BENCH_CONTROLLER_PROFILE="${out}/controller.cpu.pprof" \
    BENCH_REPORT="${out}/controller.txt" \
    go test -tags e2e,bench -count=1 -timeout 30m -run '^TestControllerThroughput$' \
      -v ./test/bench/controller >"${out}/controller.log" 2>&1; then
    tail -50 "${out}/controller.log"
    echo "bench: the controller benchmark FAILED (log: ${out}/controller.log)" >&2
    failed=1
  else
    cat "${out}/controller.txt" >>"${report}"
  fi
fi

if part e2e; then
  echo "bench: end to end through Tekton, TestTwoReplicas (about 2 minutes)"
  before="$(cut -d' ' -f1-3 /proc/loadavg)"
  if ! go test -tags e2e -count=1 -timeout 30m -run '^TestTwoReplicas$' -v ./test/e2e \
    >"${out}/e2e.log" 2>&1; then
    tail -50 "${out}/e2e.log"
    echo "bench: TestTwoReplicas FAILED (log: ${out}/e2e.log)" >&2
    failed=1
  else
    {
      echo
      echo "security-gate benchmark: end to end through Tekton (TestTwoReplicas)"
      echo "  date      $(date -u '+%Y-%m-%d %H:%M UTC')"
      echo "  machine   nproc $(nproc); load average ${before} before, $(cut -d' ' -f1-3 /proc/loadavg) after"
      # The figures TestTwoReplicas logs (throughput, latency, memory).
      grep -E '_test\.go:[0-9]+: .*(gates/s|latency|peak memory|created)' "${out}/e2e.log" |
        sed -E 's/^ *[a-z_]+_test\.go:[0-9]+: /  /'
    } >>"${report}"
  fi
fi

if [[ -f "${report}" ]]; then
  cat "${report}"
fi
exit "${failed}"
