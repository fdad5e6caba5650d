#!/usr/bin/env bash
# Runs every fuzz test of the root module (every func Fuzz* in a _test.go
# file, found anew each time so a new one is never left out), one after the
# other, each for FUZZTIME (default 30s). The seed corpus of each also runs in
# plain `go test`; this explores beyond it. A failure leaves the input under
# the package's testdata/fuzz/ and stops the run.
# Usage: hack/fuzz.sh [FUZZTIME]        e.g. hack/fuzz.sh 2m
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"
fuzztime="${1:-${FUZZTIME:-30s}}"

# "<dir> <name>" for every fuzz test, from the source (the tools modules and
# the build cache are not the root module's).
mapfile -t targets < <(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' \
  --exclude-dir=.cache --exclude-dir=tools --exclude-dir=.git . |
  sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)$|\1 \2|' | sort -u)
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "no fuzz tests found" >&2
  exit 1
fi
for t in "${targets[@]}"; do
  read -r dir name <<<"${t}"
  echo "fuzz: ${name} in ./${dir} for ${fuzztime}"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${fuzztime}" "./${dir}"
done
echo "fuzz: ${#targets[@]} fuzz tests, ${fuzztime} each: no failure"
