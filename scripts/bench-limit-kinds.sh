#!/usr/bin/env bash
# Checks of a rule with a bucket only, of a rule with a bucket and a calendar quota (stacked, taken
# together in one script call), and leases of a rule with a concurrency limit (Acquire then Release;
# a check that acquires, then Release), one after the other against one instance and one Redis:
# answers/s and Redis's work per answer (docs/benchmarks.md, "Limit kinds").
#   scripts/bench-limit-kinds.sh [seconds] [concurrency] [rounds]     (each round runs all four; the first warms the instance)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_rounds bench-limit-kinds "$@"
redis_port=6394 grpc=50094 http=8094
# The rules are alike but for the quota and the concurrency limit, which are never reached: the cost
# of counting them, not of refusing.
cat > "$work/limits.json" <<'JSON'
{ "rules": { "default": { "capacity": 100, "refillPerSecond": 10 },
             "plain": { "capacity": 200, "refillPerSecond": 50 },
             "stacked": { "capacity": 200, "refillPerSecond": 50,
                          "quota": { "limit": 1000000000000, "period": "month", "timezone": "Europe/Berlin" } },
             "leased": { "capacity": 200, "refillPerSecond": 50, "concurrency": { "maxInFlight": 100, "leaseSeconds": 60 } } } }
JSON
start_redis "$redis_port"
start_sluice "$grpc" "$http" "$redis_port" "$work/limits.json"
# Leases need the gRPC client (the lean one sends checks only): every run uses it, so that they compare.
bench_client=grpc
run() { bench_closed_loop "$grpc" "$redis_port" "$seconds" "$concurrency" "$@"; }
for round in $(seq 1 "$rounds"); do
  echo "=== round $round of $rounds"
  run --action plain
  run --action stacked
  run --action leased --call acquire
  run --action leased --call check-acquire
done
