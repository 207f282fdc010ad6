#!/usr/bin/env bash
# Redis's work per decision, script against script, with no Sluice and no JVM: redis-benchmark runs
# the plain token bucket (bench/src/main/resources/plain_token_bucket.lua) and Sluice's check script
# (lua/token_bucket.lua) on one Redis, in turns, with the same clients, pipelining and users, and
# prints the time per call inside the script (INFO commandstats) and Redis's CPU per call. Two
# variants of the plain script price what Sluice's adds: the same script given Sluice's three keys
# (the bucket and the two ban keys it must declare), and the same script answering five fields. The
# last row is Sluice's script deciding the checks of 8 users in one call, as an instance on a single
# Redis sends the checks of one event-loop turn; its figures are per check.
# Everything it starts is stopped at the end.
#
#   scripts/bench-scripts.sh [rounds] [calls]      (defaults: 4 300000)
set -euo pipefail
rounds="${1:-4}"
calls="${2:-300000}"
command -v redis-benchmark >/dev/null || { echo "redis-benchmark is missing: apt-get install redis-tools" >&2; exit 2; }
source "$(dirname "$0")/bench-lib.sh"
port=6396
start_redis "$port"
cli() { redis-cli -p "$port" "$@"; }

plain="$root/bench/src/main/resources/plain_token_bucket.lua"
sed 's/^return allowed and 1 or 0$/return { allowed and 1 or 0, 5, 0, 100, 0 }/' "$plain" > "$work/plain-5-fields.lua"
sha_plain=$(cli SCRIPT LOAD "$(cat "$plain")")
sha_five=$(cli SCRIPT LOAD "$(cat "$work/plain-5-fields.lua")")
sha_sluice=$(cli SCRIPT LOAD "$(cat "$root/lua/token_bucket.lua")")

# Buckets of 100 tokens refilled at 10/s, 10,000 users; 16 clients, 16 calls in flight each.
one_key=(1 "p:{u:__rand_int__}" 100 10 1)
three_keys=(3 "rate_limit:{u:__rand_int__}:api" "ban:{u:__rand_int__}" "ban:{u:__rand_int__}:api" 100 10 1)
cpu_seconds() { cli INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'; }
eight_users=(24)
for _ in 1 2 3 4 5 6 7 8; do eight_users+=("${three_keys[@]:1:3}"); done
eight_users+=(batch 33333333)
for _ in 1 2 3 4 5 6 7 8; do eight_users+=(100 10 1); done
run() { # run NAME SHA CHECKS-PER-CALL ARGS... -> "NAME script-us cpu-us", both per check
  local name=$1 sha=$2 per=$3 before
  shift 3
  cli CONFIG RESETSTAT > /dev/null
  before=$(cpu_seconds)
  redis-benchmark -p "$port" -n $((calls / per)) -c 16 -P 16 -r 10000 -q EVALSHA "$sha" "$@" > /dev/null
  echo "$name $(cli INFO commandstats | tr -d '\r' | awk -F'[=,]' -v per="$per" '/^cmdstat_evalsha:/ { printf "%.2f", $6 / per }') \
$(awk "BEGIN { printf \"%.2f\", ($(cpu_seconds) - $before) * 1000000 / $calls }")"
}

results="$work/results"
for round in $(seq 1 "$rounds"); do
  {
    run plain "$sha_plain" 1 "${one_key[@]}"
    run plain+3-keys "$sha_plain" 1 "${three_keys[@]}"
    run plain+5-fields "$sha_five" 1 "${one_key[@]}"
    run sluice "$sha_sluice" 1 "${three_keys[@]}"
    run sluice-8-users "$sha_sluice" 8 "${eight_users[@]}"
  } | tee -a "$results" | awk -v r="$round" '{ printf "round %s: %-15s %6s us in the script, %6s us Redis CPU\n", r, $1, $2, $3 }' >&2
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
base=$(awk '$1 == "plain" { print $2 }' "$results" | median)
printf '%-15s %10s %12s %8s\n' script "script us" "Redis CPU us" "x plain"
for name in plain plain+3-keys plain+5-fields sluice sluice-8-users; do
  script=$(awk -v n="$name" '$1 == n { print $2 }' "$results" | median)
  cpu=$(awk -v n="$name" '$1 == n { print $3 }' "$results" | median)
  printf '%-15s %10s %12s %8.2f\n' "$name" "$script" "$cpu" "$(awk "BEGIN { print $script / $base }")"
done
