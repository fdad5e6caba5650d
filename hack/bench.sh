#!/usr/bin/env bash
# The benchmark of issue 3 (make bench): a loopback registry with 40 signed
# and attested images referenced by a 20-task PipelineRun, verified
#   (a) by `security-gate verify` as a cold process (median of BENCH_CLI_RUNS),
#   (b) in-process with a warm cache (BenchmarkWarmPipeline),
#   (c) by one `cosign verify` + one `cosign verify-attestation` per image.
# Prints the figures, the ratio (c)/(a) and the targets (met / NOT met), and
# keeps the table in .cache/bench/report.txt. Timings never fail the run;
# anything that does not verify does. About 1-2 minutes on 2 cores.
#
# Environment: BENCH_CLI_RUNS (default 9), BENCH_COSIGN_ROUNDS (default 3),
# BENCHTIME (go test -benchtime for (b), default 2s), BENCH_SECURITY_GATE
# (measure this security-gate binary instead of building ./cmd/security-gate,
# e.g. to compare a change), BENCH_COMPARE (a second security-gate binary,
# measured like (a) right after each of its runs, reported next to it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
out="${root}/.cache/bench"
mkdir -p "${out}"

# The real cosign v2 CLI (idempotent: rebuilt only when its pins change).
hack/build-test-tools.sh cosign2

# The CLI as users get it, built beforehand so (a) measures a process, not
# a compilation.
cli="${BENCH_SECURITY_GATE:-}"
if [[ -z "${cli}" ]]; then
  echo "building security-gate"
  cli="${out}/security-gate"
  go build -o "${cli}" ./cmd/security-gate
fi

# A small launcher for the children, so their peak RSS is their own (see
# test/bench/spawn).
go build -tags bench -o "${out}/spawn" ./test/bench/spawn

rm -f "${out}/report.txt"
BENCH_SECURITY_GATE="${cli}" \
BENCH_SPAWN="${out}/spawn" \
BENCH_COSIGN="${root}/.cache/bin/cosign2" \
BENCH_REPORT="${out}/report.txt" \
  go test -tags bench -count=1 -timeout 10m -run '^TestBench$' \
    -benchtime="${BENCHTIME:-2s}" -v ./test/bench >"${out}/test.log" 2>&1 || {
  cat "${out}/test.log"
  echo "bench: FAILED (log: ${out}/test.log)" >&2
  exit 1
}
cat "${out}/report.txt"
