#!/usr/bin/env bash
# What a check costs next to a bare gRPC call on the same server: h2load (nghttp2-client) sends
# `sluice.v1.RateLimiter/Check` and `grpc.health.v1.Health/Check` in turns, with the same streams in
# flight, to one instance with its own Redis, and prints each run, the medians, their ratio, and the
# CPU per call of the JVM and of Redis. The check is one user on a rule that always allows, so each
# one runs the whole script in Redis. Everything it starts is stopped at the end.
#
#   scripts/bench-h2load.sh [rounds] [requests] [streams] [connections]     (defaults: 5 200000 16 1)
# The instance starts as scripts/fleet.sh starts it (scripts/sluice); SLUICE_LAUNCH=java-jar starts it
# with a bare `java -jar`, SLUICE_JAVA_OPTS adds JVM flags.
set -euo pipefail
rounds="${1:-5}"
requests="${2:-200000}"
streams="${3:-16}"
connections="${4:-1}"
command -v h2load >/dev/null || { echo "h2load is missing: apt-get install nghttp2-client" >&2; exit 2; }
source "$(dirname "$0")/bench-lib.sh"
redis_port=6393
grpc_port=50073
http_port=8073

cat > "$work/limits.json" <<'LIMITS'
{ "rules": { "default": { "capacity": 1000000000, "refillPerSecond": 1000000000 } } }
LIMITS
# gRPC frames: a zero byte (not compressed), the length (4 bytes, big-endian), the protobuf message.
printf '\x00\x00\x00\x00\x00' > "$work/health.bin"
printf '\x00\x00\x00\x00\x0f\x0a\x08bench-h2\x12\x03api' > "$work/check.bin"

start_redis "$redis_port"
start_sluice "$grpc_port" "$http_port" "$redis_port" "$work/limits.json"

run() { # run METHOD FRAME REQUESTS -> req/s
  h2load -n "$3" -c "$connections" -m "$streams" -d "$2" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$grpc_port/$1" 2>&1 | awk '/^finished/ { print int($4) } /^requests:/ && $10 != 0 { print "h2load: " $0 > "/dev/stderr" }'
}
cpu_ms() { awk '{ print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }
redis_usec() { redis-cli -p "$redis_port" info commandstats 2>/dev/null | awk -F'[=,]' '/cmdstat_evalsha/ { print $4 }' ; }

# h2load sees HTTP status only; a gRPC error is a 200 too. So one call first, and its grpc-status must be 0.
status=$(curl -s --http2-prior-knowledge -o /dev/null -D - --data-binary @"$work/check.bin" -H 'content-type: application/grpc' \
  -H 'te: trailers' "http://127.0.0.1:$grpc_port/sluice.v1.RateLimiter/Check" | tr -d '\r' | awk -F': ' '/^grpc-status/ { print $2 }')
[[ "$status" == "0" ]] || { echo "a check was answered grpc-status ${status:-none}, not 0" >&2; exit 1; }
echo "warming up" >&2
run grpc.health.v1.Health/Check "$work/health.bin" 100000 > /dev/null
run sluice.v1.RateLimiter/Check "$work/check.bin" 100000 > /dev/null

health=(); check=(); jvm_us=(); redis_us=(); health_jvm_us=()
per_call() { awk "BEGIN { printf \"%.1f\", ($2 - $1) * 1000 / $requests }"; }
for round in $(seq 1 "$rounds"); do
  cpu_before=$(cpu_ms "$sluice_pid")
  health+=("$(run grpc.health.v1.Health/Check "$work/health.bin" "$requests")")
  health_jvm_us+=("$(per_call "$cpu_before" "$(cpu_ms "$sluice_pid")")")
  cpu_before=$(cpu_ms "$sluice_pid"); redis_before=$(redis_usec || echo 0)
  check+=("$(run sluice.v1.RateLimiter/Check "$work/check.bin" "$requests")")
  cpu_after=$(cpu_ms "$sluice_pid"); redis_after=$(redis_usec || echo 0)
  jvm_us+=("$(per_call "$cpu_before" "$cpu_after")")
  redis_us+=("$(awk "BEGIN { printf \"%.1f\", ($redis_after - $redis_before) / $requests }")")
  echo "round $round: health $((health[-1])) req/s (JVM ${health_jvm_us[-1]} us/call), check $((check[-1])) req/s (JVM ${jvm_us[-1]} us, Redis ${redis_us[-1]} us)" >&2
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
h=$(median "${health[@]}"); c=$(median "${check[@]}")
echo "h2load -c $connections -m $streams, $rounds rounds of $requests: Health/Check median $h req/s, RateLimiter/Check median $c req/s, ratio $(awk "BEGIN { printf \"%.2f\", $c / $h }")"
echo "peak RSS of the instance: $(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' "/proc/$sluice_pid/status")"
echo "CPU per call, medians: health JVM $(median "${health_jvm_us[@]}") us; check JVM $(median "${jvm_us[@]}") us, Redis EVALSHA $(median "${redis_us[@]}") us"
