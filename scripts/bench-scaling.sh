#!/usr/bin/env bash
# How decisions spread over Redis shards: for each layout, two Sluice instances on one Redis (a
# standalone one, then Clusters of 1, 2 and 3 masters), driven by `sluice bench` (closed loop,
# 100,000 users, every check a whole script run in Redis). Prints per layout the checks/s and p99,
# and per shard its share of the decisions, its Redis CPU per decision and how busy that keeps its
# one thread at the measured rate. Everything it starts is stopped at the end (docs/scaling.md).
#
#   scripts/bench-scaling.sh [seconds] [layouts...]     (defaults: 10 standalone 1 2 3)
# Needs redis-cli (Debian: redis-tools) to read each shard's counters.
set -euo pipefail
seconds="${1:-10}"
shift || true
layouts=("$@")
[[ ${#layouts[@]} -gt 0 ]] || layouts=(standalone 1 2 3)
command -v redis-cli >/dev/null || { echo "redis-cli is missing: apt-get install redis-tools" >&2; exit 2; }
source "$(dirname "$0")/bench-lib.sh"
base_port=6420
grpc_ports=(50081 50082)
http_ports=(8181 8182)

cat > "$work/limits.json" <<'LIMITS'
{ "rules": { "default": { "capacity": 1000000000, "refillPerSecond": 1000000000 } } }
LIMITS

stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

# start_cluster N: N masters on base_port.., joined by `sluice local-cluster` (the slots shared out evenly).
start_cluster() {
  local n=$1 i port ports=()
  for ((i = 0; i < n; i++)); do
    port=$((base_port + i))
    ports+=("$port")
    rm -f "$work/nodes-$port.conf"
    require_free "$port"
    "$(redis_binary)" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --cluster-enabled yes \
      --cluster-config-file "$work/nodes-$port.conf" --dir "$work" > "$work/redis-$port.log" 2>&1 &
    pids+=("$!")
    wait_port "$port"
  done
  java -jar "$jar" local-cluster --ports "$(IFS=,; echo "${ports[*]}")" > /dev/null
}

# counters PORT: "evalsha_calls redis_cpu_us bytes_in bytes_out" of one shard so far.
counters() {
  local calls cpu net
  calls=$(redis-cli -p "$1" info commandstats | awk -F'[=,]' '/^cmdstat_evalsha:/ { print $2 }')
  cpu=$(redis-cli -p "$1" info cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.0f", s * 1000000 }')
  net=$(redis-cli -p "$1" info stats | tr -d '\r' | awk -F: '/^total_net_(input|output)_bytes:/ { printf "%s ", $2 }')
  echo "${calls:-0} $cpu $net"
}

for layout in "${layouts[@]}"; do
  if [[ "$layout" == standalone ]]; then
    shards=1
    start_redis "$base_port"
    redis="redis://127.0.0.1:$base_port"
    flags=()
  else
    shards=$layout
    start_cluster "$shards"
    redis=$(for ((i = 0; i < shards; i++)); do printf 'redis://127.0.0.1:%d,' $((base_port + i)); done)
    redis=${redis%,}
    flags=(--redis-mode cluster)
  fi
  for i in 0 1; do
    start_sluice "${grpc_ports[$i]}" "${http_ports[$i]}" "$redis" "$work/limits.json" "${flags[@]}"
  done
  before=()
  for ((i = 0; i < shards; i++)); do before+=("$(counters $((base_port + i)))"); done
  result=$(java -jar "$jar" bench --targets "127.0.0.1:${grpc_ports[0]},127.0.0.1:${grpc_ports[1]}" --concurrency 64 \
    --seconds "$seconds" --warmup-seconds 5 --users 100000 --action api)
  rate=$(awk '/^checks:/ { gsub(/[(\/s)]/, "", $3); print $3 }' <<< "$result")
  p99=$(awk '/^latency ms:/ { print $8 }' <<< "$result")
  degraded=$(awk '/^degraded:/ { print $2 }' <<< "$result")
  echo "$layout: $rate checks/s, p99 $p99 ms, degraded $degraded (2 instances, ${shards} shard(s))"
  total=0
  declare -a calls=() cpu=() bytes_in=() bytes_out=()
  for ((i = 0; i < shards; i++)); do
    read -r calls_before cpu_before in_before out_before <<< "${before[$i]}"
    read -r calls_after cpu_after in_after out_after <<< "$(counters $((base_port + i)))"
    calls[i]=$((calls_after - calls_before))
    cpu[i]=$((cpu_after - cpu_before))
    bytes_in[i]=$((in_after - in_before))
    bytes_out[i]=$((out_after - out_before))
    total=$((total + calls[i]))
  done
  for ((i = 0; i < shards; i++)); do
    awk -v shard="$i" -v calls="${calls[$i]}" -v total="$total" -v cpu="${cpu[$i]}" -v rate="$rate" \
      -v received="${bytes_in[$i]}" -v sent="${bytes_out[$i]}" 'BEGIN {
      printf "  shard %d: %4.1f%% of the decisions, %.1f us Redis CPU and %.0f B in + %.0f B out per decision, its thread busy %4.1f%% at that rate\n",
        shard, calls * 100 / total, cpu / calls, received / calls, sent / calls, (cpu / calls) * rate * (calls / total) / 10000 }'
  done
  stop_all
done
