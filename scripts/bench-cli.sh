#!/usr/bin/env bash
# How long one CLI call takes, start to exit, against the running local fleet (scripts/fleet.sh up):
# `java -jar` as is, and scripts/sluice (tool JVM flags and a class-data-sharing archive). Prints the
# median and the worst of N calls of each (default 10), after one call that builds the archive.
#
#   scripts/bench-cli.sh [calls] [target]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
calls="${1:-10}"
target="${2:-127.0.0.1:50051}"
jar="$root/target/sluice.jar"
[[ -f "$jar" ]] || (cd "$root" && mvn -B -q -DskipTests package)

measure() {
  local label=$1; shift
  local times=()
  for i in $(seq 1 "$calls"); do
    local start end
    start=$(date +%s%N)
    "$@" check --target "$target" --user "bench-cli-$i" --action api > /dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  IFS=$'\n' sorted=($(sort -n <<<"${times[*]}")); unset IFS
  printf '%-28s median %5d ms   worst %5d ms   (%d calls)\n' "$label" "${sorted[$((calls / 2))]}" "${sorted[$((calls - 1))]}" "$calls"
}

"$root/scripts/sluice" check --target "$target" --user bench-cli-warm --action api > /dev/null
measure "java -jar target/sluice.jar" java -jar "$jar"
measure "scripts/sluice" "$root/scripts/sluice"
