#!/usr/bin/env bash
# The worst second of a new instance: one instance just started on the shipped conf/limits.json,
# Redis on the same machine, and at once 200 concurrent callers sending 3 checks each for one user
# on the login rule (5 tokens, 1 every 5 s). Prints what they were answered: decisions, degraded
# answers, errors. Everything it starts is stopped at the end.
#
#   scripts/bench-cold-burst.sh [server-jar]     (default: target/sluice.jar; the bench itself always runs from it)
set -euo pipefail

server_jar="${1:-}"
source "$(dirname "$0")/bench-lib.sh"
redis_port=6392
grpc_port=50071
http_port=8071

start_redis "$redis_port"
if [[ -z "$server_jar" ]]; then
  start_sluice "$grpc_port" "$http_port" "$redis_port" conf/limits.json
else
  # Another build (an older commit's jar, to compare): run from its own checkout, with its own conf/.
  require_free "$grpc_port"
  (cd "$(dirname "$server_jar")/.." && exec java -jar "$server_jar" --port "$grpc_port" --http-port "$http_port" \
    --redis "redis://127.0.0.1:$redis_port" --limits conf/limits.json) > "$work/sluice.log" 2>&1 &
  pids+=($!)
  wait_port "$grpc_port"
fi

java -jar "$jar" bench --targets "127.0.0.1:$grpc_port" --concurrency 200 --checks 600 --warmup-seconds 0 \
  --seconds 30 --keys hot --action login || true
