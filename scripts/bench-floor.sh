#!/usr/bin/env bash
# Where the open-loop tail of a check comes from: Sluice's checks at a fixed rate next to the floor
# under them on this machine, in alternating rounds on one Redis. The floor (bench/floor) is a Vert.x
# gRPC server on the same JVM flags that answers each call after one EVALSHA of the plain token-bucket
# script and does nothing else: the same hops as a check (generator, server, Redis, server,
# generator), none of Sluice's work. The bare row is Health/Check on Sluice: one hop, no Redis.
# All three are driven by the bench tool's lean client (--client lean) at the same rate over 10,000
# users, each round after its own warm-up. Prints one line per round and the table of them, with the
# CPU the server's JVM and Redis spent per call over the middle of the measured time (/proc/<pid>/stat).
#
#   scripts/bench-floor.sh [rounds] [rate] [seconds]      (defaults: 3 10000 10)
set -euo pipefail
rounds="${1:-3}"
rate="${2:-10000}"
seconds="${3:-10}"
source "$(dirname "$0")/bench-lib.sh"
redis_port=6396
grpc_port=50076
http_port=8076
floor_port=50075
floor_jar="$root/bench/floor/target/sluice-floor.jar"
if [[ ! -f "$floor_jar" || -n "$(find "$root/bench/floor/src" "$root/bench/floor/pom.xml" "$root/bench/src/main/resources" -newer "$floor_jar" -print -quit)" ]]; then
  (cd "$root/bench/floor" && mvn -B -q -DskipTests package >&2)
fi

cat > "$work/limits.json" <<'LIMITS'
{ "rules": { "default": { "capacity": 100, "refillPerSecond": 10 }, "api": { "capacity": 100, "refillPerSecond": 10 } } }
LIMITS
start_redis "$redis_port"
start_sluice "$grpc_port" "$http_port" "$redis_port" "$work/limits.json"
require_free "$floor_port"
# Started by scripts/sluice as a server (its JVM flags and class-data sharing), so that the two JVMs
# differ only in what they run.
SLUICE_JAR="$floor_jar" "$root/scripts/sluice" --port "$floor_port" --redis-port "$redis_port" > "$work/floor.log" 2>&1 &
floor_pid=$!
pids+=("$floor_pid")
wait_port "$floor_port"
# cpu_ticks PID: user and system time the process has spent, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
# The bench starts, warms up for $seconds, then measures for $seconds: CPU is sampled inside that.
sample_from=$((seconds + seconds / 5 + 1))
sample_for=$(( seconds * 6 / 10 > 0 ? seconds * 6 / 10 : 1 ))

rows=()
run() {
  local name=$1 port=$2 call=$3 server=$4 out latency sampler
  (sleep "$sample_from"; s0=$(cpu_ticks "$server"); r0=$(cpu_ticks "$redis_pid"); sleep "$sample_for"
   s1=$(cpu_ticks "$server"); r1=$(cpu_ticks "$redis_pid")
   echo "$(( (s1 - s0) * tick_us / (sample_for * rate) )) $(( (r1 - r0) * tick_us / (sample_for * rate) ))" > "$work/cpu") &
  sampler=$!
  out=$("$root/scripts/sluice" bench --targets "127.0.0.1:$port" --rate "$rate" --seconds "$seconds" --warmup-seconds "$seconds" \
    --users 10000 --action api --client lean --call "$call")
  wait "$sampler"
  grep -q '^degraded: 0 {}  errors: 0 {}' <<<"$out" || { echo "$name: degraded answers or errors:" >&2; echo "$out" >&2; exit 1; }
  latency=$(grep -oE 'p50 [0-9.]+  p90 [0-9.]+  p99 [0-9.]+  p99.9 [0-9.]+' <<<"$out" | awk '{ print $2, $4, $6, $8 }')
  rows+=("$(printf '%-5s %-14s %7s %7s %7s %7s %10s %9s' "$round" "$name" $latency $(cat "$work/cpu"))")
  echo "${rows[-1]}" >&2
}

for round in $(seq 1 "$rounds"); do
  run sluice-check "$grpc_port" check "$sluice_pid"
  run floor "$floor_port" health "$floor_pid"
  run bare-health "$grpc_port" health "$sluice_pid"
done

printf '%-5s %-14s %7s %7s %7s %7s %10s %9s\n' round call "p50 ms" "p90 ms" "p99 ms" "p99.9" "server us" "redis us"
printf '%s\n' "${rows[@]}"
