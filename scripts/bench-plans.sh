#!/usr/bin/env bash
# Checks of a rule without plans, of a rule with a plan (gold) for users without a stored one, and of
# the same rule for users whose stored plan is gold, one after the other against one instance and one
# Redis: checks/s and Redis's work per decision (docs/benchmarks.md, "Plans stored for users").
#   scripts/bench-plans.sh [seconds] [concurrency] [rounds]     (each round runs the three; the first warms the instance)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_rounds bench-plans "$@"
redis_port=6393 grpc=50093 http=8093
# The two rules are alike; "planned" has a plan, which gold users are on.
cat > "$work/limits.json" <<'JSON'
{ "rules": { "default": { "capacity": 100, "refillPerSecond": 10 },
             "plain": { "capacity": 200, "refillPerSecond": 50 },
             "planned": { "capacity": 200, "refillPerSecond": 50 } },
  "tiers": { "gold": { "planned": { "capacity": 2000, "refillPerSecond": 500 } } } }
JSON
start_redis "$redis_port"
start_sluice "$grpc" "$http" "$redis_port" "$work/limits.json"
run() { bench_closed_loop "$grpc" "$redis_port" "$seconds" "$concurrency" "$@"; }
for round in $(seq 1 "$rounds"); do
  echo "=== round $round of $rounds"
  run --action plain
  run --action planned
  run --action planned --stored-tier gold
done
