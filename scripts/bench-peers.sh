#!/usr/bin/env bash
# Sluice next to what a Java team would use instead, in one run, on one Redis: Bucket4j (Lettuce,
# compare-and-swap), Redisson's RRateLimiter, and a plain token-bucket Lua script by EVALSHA (the
# yardstick of Redis work). Each is driven in a closed loop by 16 threads (Sluice: 16 checks in
# flight from its bench tool), per-user buckets of 100 tokens refilled at 10/s over 10,000 users
# (uniform), then one hot key that is always allowed. Prints one table: decisions/s, p99, and
# Redis's work per decision (the process's CPU, the time in scripts, the commands run). Sluice is
# driven twice: by Vert.x's gRPC client (sluice: what a backend calls it with) and by the bench tool's
# lean HTTP/2 client (sluice-lean: pre-encoded frames, as h2load sends them; it spends about a quarter
# of the CPU per call, which a load generator otherwise takes from the instance and Redis on shared
# cores). The bare-* rows are the same two clients sending grpc.health.v1.Health/Check to the same
# instance: no Redis, no decision, the most any call through gRPC reaches from that client here.
#
#   scripts/bench-peers.sh [seconds] [warmup-seconds]      (defaults: 10 3)
set -euo pipefail
seconds="${1:-10}"
warmup="${2:-3}"
source "$(dirname "$0")/bench-lib.sh"
redis_port=6397
grpc_port=50077
http_port=8077
peers_jar="$root/bench/target/sluice-peers.jar"
if [[ ! -f "$peers_jar" || -n "$(find "$root/bench/src" "$root/bench/pom.xml" -newer "$peers_jar" -print -quit)" ]]; then
  (cd "$root/bench" && mvn -B -q -DskipTests package >&2)
fi

cat > "$work/limits.json" <<'LIMITS'
{ "rules": {
    "default": { "capacity": 100, "refillPerSecond": 10 },
    "bench": { "capacity": 100, "refillPerSecond": 10 },
    "hot": { "capacity": 1000000000, "refillPerSecond": 1000000000 } } }
LIMITS
start_redis "$redis_port"
start_sluice "$grpc_port" "$http_port" "$redis_port" "$work/limits.json"
redis="redis://127.0.0.1:$redis_port"

rows=()
# row NAME KEYS OUTPUT: one line of the table from a run's output (Sluice's bench and the peers print alike).
row() {
  local rate p99 cpu scripts commands
  rate=$(grep -oE '\(([0-9]+)/s\)|: ([0-9]+)/s' <<<"$3" | head -1 | grep -oE '[0-9]+')
  p99=$(grep -oE 'p99 [0-9.]+' <<<"$3" | head -1 | awk '{ print $2 }')
  read -r cpu scripts commands < <(grep '^redis:' <<<"$3" | awk '{ print $2, $11, $15 }')
  rows+=("$(printf '%-10s %-8s %10s %9s %12s %12s %10s' "$1" "$2" "$rate" "$p99" "$cpu" "$scripts" "$commands")")
}

for keys in uniform hot; do
  action=bench; peer_limits=(--capacity 100 --refill 10)
  [[ "$keys" == hot ]] && { action=hot; peer_limits=(--capacity 1000000000 --refill 1000000000); }
  echo "sluice, $keys keys" >&2
  for client in grpc lean; do
    name=sluice; [[ "$client" == lean ]] && name=sluice-lean
    out=$("$root/scripts/sluice" bench --targets "127.0.0.1:$grpc_port" --concurrency 16 --seconds "$seconds" \
      --warmup-seconds "$warmup" --users 10000 --keys "$keys" --action "$action" --redis "$redis" --client "$client")
    row "$name" "$keys" "$out"
  done
  for library in lua bucket4j redisson; do
    echo "$library, $keys keys" >&2
    out=$(java -jar "$peers_jar" --library "$library" --redis "$redis" --threads 16 --seconds "$seconds" \
      --warmup-seconds "$warmup" --users 10000 --keys "$keys" "${peer_limits[@]}")
    row "$library" "$keys" "$out"
  done
done

for client in grpc lean; do
  echo "bare gRPC calls, $client client" >&2
  out=$("$root/scripts/sluice" bench --targets "127.0.0.1:$grpc_port" --concurrency 16 --seconds "$seconds" \
    --warmup-seconds "$warmup" --users 10000 --call health --redis "$redis" --client "$client")
  row "bare-$client" - "$out"
done

printf '%-10s %-8s %10s %9s %12s %12s %10s\n' library keys "decisions/s" "p99 ms" "redis CPU us" "script us" commands
printf '%s\n' "${rows[@]}"
