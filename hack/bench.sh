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
# Environment: BENCH_CLI_RUNS (default 5), BENCH_COSIGN_ROUNDS (default 3),
# BENCHTIME (go test -benchtime for (b), default 2s).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
out="${root}/.cache/bench"
mkdir -p "${out}"

# The real cosign v2 CLI (idempotent: rebuilt only when its pins change).
hack/build-test-tools.sh cosign2

# The CLI as users get it, built beforehand so (a) measures a process, not
# a compilation.
echo "building security-gate"
go build -o "${out}/security-gate" ./cmd/security-gate

rm -f "${out}/report.txt"
BENCH_SECURITY_GATE="${out}/security-gate" \
BENCH_COSIGN="${root}/.cache/bin/cosign2" \
BENCH_REPORT="${out}/report.txt" \
  go test -tags bench -count=1 -timeout 10m -run '^TestBench$' \
    -benchtime="${BENCHTIME:-2s}" -v ./test/bench >"${out}/test.log" 2>&1 || {
  cat "${out}/test.log"
  echo "bench: FAILED (log: ${out}/test.log)" >&2
  exit 1
}
cat "${out}/report.txt"
