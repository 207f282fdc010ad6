#!/usr/bin/env bash
# The fuzzers that CI runs with a few hundred tries each (jqwik properties: the limits parser, the
# check path over gRPC, raw bytes on the gRPC port), run longer:
#
#   scripts/fuzz.sh [tries]      (default 20000 per property; each starts and stops its own Redis and Sluice)
#
# A failure prints the sample and the seed; jqwik tries that sample first on the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
tries="${1:-20000}"
mvn -B -Djqwik.tries.default="$tries" -Dsurefire.redirectTestOutputToFile=true -Dtest='*Properties' -Dsurefire.failIfNoSpecifiedTests=false test
