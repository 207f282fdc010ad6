#!/usr/bin/env bash
# The worst second of a new instance: one instance just started on the shipped conf/limits.json,
# Redis on the same machine, and at once 200 concurrent callers sending 3 checks each for one user
# on the login rule (5 tokens, 1 every 5 s). Prints what they were answered: decisions, degraded
# answers, errors. Everything it starts is stopped at the end.
#
#   scripts/bench-cold-burst.sh [server-jar]     (default: target/sluice.jar; the bench itself always runs from it)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
jar="$root/target/sluice.jar"
server_jar="${1:-$jar}"
redis_port=6392
grpc_port=50071
http_port=8071
work="$(mktemp -d -t sluice-cold-XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 300); do port_open "$1" && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

[[ -f "$jar" ]] || (cd "$root" && mvn -B -q -DskipTests package)
binary="$(java -jar "$jar" redis-binary)"
"$binary" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no > "$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"

# Run from the checkout the jar was built in, so that it reads its own conf/ (settings and limits).
(cd "$(dirname "$server_jar")/.." && exec java -jar "$server_jar" --port "$grpc_port" --http-port "$http_port" \
  --redis "redis://127.0.0.1:$redis_port" --limits conf/limits.json) > "$work/sluice.log" 2>&1 &
pids+=($!)
wait_port "$grpc_port"

java -jar "$jar" bench --targets "127.0.0.1:$grpc_port" --concurrency 200 --checks 600 --warmup-seconds 0 \
  --seconds 30 --keys hot --action login || true
