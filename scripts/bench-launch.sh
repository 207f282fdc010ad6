#!/usr/bin/env bash
# Launch to first answered check: an instance is started, and a check is sent every few
# milliseconds (curl, HTTP/2, a prebuilt gRPC frame) until one is answered with grpc-status 0.
# Each way of starting is timed N times (default 5) against a Redis of its own: `java -jar` as is,
# and scripts/sluice (JVM flags and a class-data-sharing archive, made by a first run not timed).
#
#   scripts/bench-launch.sh [runs]
set -euo pipefail
runs="${1:-5}"
source "$(dirname "$0")/bench-lib.sh"
redis_port=6394
grpc_port=50074
http_port=8074
start_redis "$redis_port"
printf '\x00\x00\x00\x00\x0f\x0a\x08launch-1\x12\x03api' > "$work/check.bin"

answered() {
  curl -s --http2-prior-knowledge --max-time 1 -o /dev/null -D - --data-binary @"$work/check.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$grpc_port/sluice.v1.RateLimiter/Check" 2>/dev/null \
    | tr -d '\r' | grep -q '^grpc-status: 0$'
}

# launch LABEL COMMAND...: prints the milliseconds from exec to the first answered check.
launch() {
  local start pid elapsed
  start=$(date +%s%N)
  (cd "$root" && exec "$@" --port "$grpc_port" --http-port "$http_port" --redis "redis://127.0.0.1:$redis_port") \
    > "$work/launch.log" 2>&1 &
  pid=$!
  until answered; do
    kill -0 "$pid" 2>/dev/null || { echo "the instance exited:" >&2; tail -5 "$work/launch.log" >&2; return 1; }
    sleep 0.005
  done
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "$elapsed"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
measure() {
  local label=$1; shift
  local times=()
  for _ in $(seq 1 "$runs"); do times+=("$(launch "$@")"); done
  printf '%-16s median %5d ms   (%s)\n' "$label" "$(median "${times[@]}")" "${times[*]}"
}

rm -f "$root"/target/sluice-server.jsa
launch "$root/scripts/sluice" > /dev/null   # makes the archive
measure "java -jar" java -jar "$jar"
measure "scripts/sluice" "$root/scripts/sluice"
