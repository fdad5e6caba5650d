#!/usr/bin/env bash
# Runs the Kyverno admission-policy tests in test/kyverno with the Kyverno CLI.
#
# The CLI is built from the pinned tools module hack/tools/kyverno into
# .cache/bin/kyverno. A cold build takes several minutes, so it is skipped when
# the cached binary already reports the pinned version.
#
# Usage: hack/kyverno-test.sh [--build-only] [TEST_DIR...]
#   TEST_DIR defaults to test/kyverno; every kyverno-test.yaml below it runs.
# Exits non-zero when the build fails or any test fails.
#
# On top of `kyverno test`'s own verdict, each test directory is held to:
# - no result with reason "Excluded": the CLI counts an excluded resource as a
#   pass whatever was expected, so a policy that stopped matching would pass;
# - expected-messages (optional): "resource|substring" lines; each failing
#   resource must be denied with a message containing the substring, so it
#   fails for the reason it was written for;
# - expect-not-matched (optional): the directory is an inverted test for
#   "the policy does not match these resources at all" (e.g. nothing is
#   generated for an unlabelled namespace). The CLI reports that as "Not
#   found" failures (no response at all) or, when a namespaceSelector or
#   objectSelector leaves the resource out, as "Excluded"; the test passes
#   when exactly the listed resources, and nothing else, are reported one of
#   those two ways.
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
  # (Captured first: with pipefail, grep -q closing the pipe early would make
  # a matching binary look like a failure.)
  local out
  out="$("${KYVERNO}" version 2>/dev/null)" || return 1
  grep -qx "Version: ${KYVERNO_VERSION}" <<<"${out}"
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

# rows OUTPUT: the result rows of `kyverno test -o json` as
# RESOURCE<TAB>RESULT<TAB>REASON<TAB>MESSAGE lines (the JSON is one key per
# line; awk keeps this script free of extra tools).
rows() {
  awk '
    function val(line) {
      sub(/^[^:]*: "/, "", line); sub(/",?[[:space:]]*$/, "", line)
      gsub(/\\u003c/, "<", line); gsub(/\\u003e/, ">", line); gsub(/\\u0026/, "\\&", line)
      gsub(/\\"/, "\"", line); gsub(/\\\\/, "\\", line)
      return line
    }
    /^[[:space:]]*"Message": "/  { m = val($0) }
    /^[[:space:]]*"REASON": "/   { reason = val($0) }
    /^[[:space:]]*"RESOURCE": "/ { res = val($0) }
    /^[[:space:]]*"RESULT": "/   { result = val($0) }
    /^[[:space:]]*},?[[:space:]]*$/ {
      if (res != "") printf "%s\t%s\t%s\t%s\n", res, result, reason, m
      m = reason = res = result = ""
    }
  ' <<<"$1"
}

# entries FILE: the non-comment, non-blank lines of FILE.
entries() { grep -v '^[[:space:]]*\(#\|$\)' "$1" || true; }

failures=0
total_rows=0
dirs=0
while IFS= read -r test_file; do
  dir="$(dirname "${test_file}")"
  rel="${dir#"${ROOT}/"}"
  dirs=$((dirs + 1))
  status=0
  out="$("${KYVERNO}" test "${dir}" --require-tests --detailed-results --remove-color -o json 2>&1)" || status=$?
  table="$(rows "${out}")"
  n=0
  [[ -n "${table}" ]] && n=$(wc -l <<<"${table}")
  total_rows=$((total_rows + n))
  problems=()

  if [[ -f "${dir}/expect-not-matched" ]]; then
    # Inverted test: the policy must produce no response at all for exactly
    # these resources, which the CLI reports as failures with "Not found".
    want="$(entries "${dir}/expect-not-matched" | sort)"
    got="$(awk -F'\t' '{ n = split($1, p, "/"); print p[n] }' <<<"${table}" | sort)"
    if awk -F'\t' '$3 == "Not found"' <<<"${table}" | grep -q .; then
      [[ ${status} -ne 0 ]] || problems+=("expected the CLI to report the unmatched resources as failed (Not found), but it passed")
    fi
    [[ "${want}" == "${got}" ]] || problems+=("rows for [$(echo ${got})], want exactly [$(echo ${want})]")
    if awk -F'\t' '$3 != "Not found" && $3 != "Excluded"' <<<"${table}" | grep -q .; then
      problems+=("the policy matched a resource it must not match: $(awk -F'\t' '$3 != "Not found" && $3 != "Excluded" { print $1 " (" $3 ")" }' <<<"${table}" | tr '\n' ' ')")
    fi
  else
    [[ ${status} -eq 0 ]] || problems+=("kyverno test failed (exit ${status})")
    [[ ${n} -gt 0 ]] || problems+=("no result rows")
    # "Excluded" is counted as a pass whatever result was expected: a policy
    # that silently stopped matching would pass every test. Reject it.
    if awk -F'\t' '$3 == "Excluded"' <<<"${table}" | grep -q .; then
      problems+=("resources excluded by the policy (an excluded resource passes any expectation): $(awk -F'\t' '$3 == "Excluded" { print $1 }' <<<"${table}" | tr '\n' ' ')")
    fi
    if awk -F'\t' '$2 != "Pass"' <<<"${table}" | grep -q .; then
      problems+=("failed rows: $(awk -F'\t' '$2 != "Pass" { print $1 ": " $3 }' <<<"${table}" | tr '\n' ' ')")
    fi
  fi

  # expected-messages: "resource|substring" lines; a failing resource must be
  # denied for the reason it was written for, not for another one.
  if [[ -f "${dir}/expected-messages" ]]; then
    while IFS='|' read -r name substring; do
      if ! awk -F'\t' -v name="${name}" -v s="${substring}" '
          { n = split($1, p, "/"); if (p[n] == name && index($4, s) > 0) found = 1 }
          END { exit found ? 0 : 1 }' <<<"${table}"; then
        problems+=("no result for ${name} with message containing: ${substring}")
      fi
    done < <(entries "${dir}/expected-messages")
  fi

  if [[ ${#problems[@]} -eq 0 ]]; then
    echo "ok    ${rel} (${n} results)"
  else
    failures=$((failures + 1))
    echo "FAIL  ${rel} (${n} results)"
    for p in "${problems[@]}"; do echo "      - ${p}"; done
    echo "${out}" | sed 's/^/      | /'
  fi
done < <(find "$@" -name kyverno-test.yaml | sort)

if [[ ${dirs} -eq 0 ]]; then
  echo "FAIL: no kyverno-test.yaml under $*" >&2
  exit 1
fi
echo "${dirs} test directories, ${total_rows} results, ${failures} failed"
if [[ ${failures} -ne 0 ]]; then
  echo "FAIL: kyverno policy tests failed" >&2
  exit 1
fi
