#!/usr/bin/env bash
# A Redis restart under steady load, second by second: a fleet of two instances of its own (ports
# 50061/50062, HTTP 8091/8092, Redis 6391), an open-loop bench at a fixed rate, and Redis killed
# (SIGKILL) and started again empty in the middle. Prints the bench's timeline: checks, degraded
# answers, errors and p99 per second. Everything it starts is stopped at the end, whatever happens.
#
#   scripts/bench-redis-restart.sh [rate] [seconds] [kill_at] [down_for]     (defaults: 2000 16 6 2)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
rate="${1:-2000}"
seconds="${2:-16}"
kill_at="${3:-6}"
down_for="${4:-2}"
run_dir="$(mktemp -d -t sluice-restart-XXXXXX)"
redis_port=6391
export SLUICE_RUN_DIR="$run_dir" SLUICE_FLEET_PORTS="50061 50062" SLUICE_FLEET_HTTP_PORTS="8091 8092"
export SLUICE_REDIS_PORT="$redis_port" SLUICE_DEMO_PORT=0

cleanup() { "$root/scripts/fleet.sh" down >/dev/null 2>&1 || true; rm -rf "$run_dir"; }
trap cleanup EXIT

"$root/scripts/fleet.sh" up
jar="$root/target/sluice.jar"
binary="$(java -jar "$jar" redis-binary)"

java -jar "$jar" bench --targets 127.0.0.1:50061,127.0.0.1:50062 --rate "$rate" --seconds "$seconds" \
  --warmup-seconds 5 --users 10000 --timeline > "$run_dir/bench.out" 2>&1 &
bench=$!

sleep $((5 + kill_at))
echo "restart: SIGKILL redis at second $kill_at of the measured time" >&2
kill -KILL "$(cat "$run_dir/redis.pid")"
sleep "$down_for"
"$binary" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no > "$run_dir/redis.log" 2>&1 &
echo $! > "$run_dir/redis.pid"
echo "restart: redis back, empty, at second $((kill_at + down_for))" >&2

wait "$bench" || true
cat "$run_dir/bench.out"
