#!/usr/bin/env bash
# The local Sluice fleet without Docker: one Redis, two instances (gRPC 50051 and 50052, HTTP 8081
# and 8082), and the demo backend (http://127.0.0.1:8080) that asks them before serving.
#
#   scripts/fleet.sh          start, stay in the foreground; Ctrl-C stops everything
#   scripts/fleet.sh up       start in the background and return
#   scripts/fleet.sh down     stop what `up` started
#   scripts/fleet.sh status   show what runs
#
# Redis: $SLUICE_REDIS if set; else a Redis already answering on 127.0.0.1:6379; else one started
# here (redis-server on PATH, else Docker when an engine runs, else the binary shipped in the jar).
# SLUICE_REDIS_MODE=cluster without SLUICE_REDIS starts a local Redis Cluster of three masters instead
# (ports SLUICE_CLUSTER_PORTS, default 7000 7001 7002), and the instances run in cluster mode.
# Pids and logs live in run/ (override with SLUICE_RUN_DIR). Ports: SLUICE_FLEET_PORTS, SLUICE_FLEET_HTTP_PORTS,
# SLUICE_REDIS_PORT, SLUICE_DEMO_PORT (0: no demo backend).
# Each instance also serves Envoy's rate limit service with the rules of conf/envoy ($SLUICE_ENVOY_RULES).
# Admin token: $SLUICE_ADMIN_TOKEN if set, else a random one written to run/admin-token (readable by you
# only); the CLI's admin commands take it with --token-file run/admin-token.
# The instances listen on 127.0.0.1 only, as Redis and the demo backend do: a fleet on your machine is
# for you. SLUICE_FLEET_HOST=0.0.0.0 opens it to your network (give it TLS and a token first:
# docs/security.md).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
run_dir="${SLUICE_RUN_DIR:-$root/run}"
jar="$root/target/sluice.jar"
ports=(${SLUICE_FLEET_PORTS:-50051 50052})
http_ports=(${SLUICE_FLEET_HTTP_PORTS:-8081 8082})
redis_port="${SLUICE_REDIS_PORT:-6379}"
cluster_ports=(${SLUICE_CLUSTER_PORTS:-7000 7001 7002})
demo_port="${SLUICE_DEMO_PORT:-8080}"
fleet_host="${SLUICE_FLEET_HOST:-127.0.0.1}"

log() { echo "fleet: $*" >&2; }

# Every process the fleet starts runs in a session of its own, so that Ctrl-C in the terminal
# reaches this script alone and the fleet stops in order: instances drain against a live Redis,
# and Redis goes last.
# Without setsid (macOS), job control gives each background job a process group of its own instead.
if command -v setsid >/dev/null; then detach=(setsid); else set -m; detach=(); fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  local port=$1 pid=$2 name=$3
  for _ in $(seq 1 300); do
    port_open "$port" && return 0
    kill -0 "$pid" 2>/dev/null || { log "$name exited; its log:"; tail -n 20 "$run_dir/$name.log" >&2; return 1; }
    sleep 0.1
  done
  log "$name did not open port $port in 30 s"; return 1
}

build_if_needed() {
  if [[ ! -f "$jar" ]] || [[ -n "$(find "$root/src/main" "$root/sluice-client/src" "$root/lua" "$root/pom.xml" -newer "$jar" -print -quit)" ]]; then
    log "building $jar"
    (cd "$root" && mvn -B -q -DskipTests package)
  fi
}

# Three cluster-enabled redis-server processes joined into one Cluster by `sluice local-cluster`.
start_cluster() {
  local binary port
  binary="$(java -jar "$jar" redis-binary)"
  for port in "${cluster_ports[@]}"; do
    if port_open "$port"; then log "port $port is taken; stop what uses it first (or set SLUICE_CLUSTER_PORTS)"; return 1; fi
  done
  log "starting a redis cluster of ${#cluster_ports[@]} masters ($binary) on ports ${cluster_ports[*]}"
  for port in "${cluster_ports[@]}"; do
    rm -f "$run_dir/nodes-$port.conf"
    ${detach[@]+"${detach[@]}"} "$binary" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --cluster-enabled yes \
      --cluster-config-file "$run_dir/nodes-$port.conf" --dir "$run_dir" > "$run_dir/redis-$port.log" 2>&1 &
    echo $! > "$run_dir/redis-$port.pid"
  done
  for port in "${cluster_ports[@]}"; do wait_for_port "$port" "$(cat "$run_dir/redis-$port.pid")" "redis-$port" || return 1; done
  java -jar "$jar" local-cluster --ports "$(IFS=,; echo "${cluster_ports[*]}")" > "$run_dir/redis.uri"
  # For scripts/publish-limits.sh, which reaches Redis as the instances do.
  echo cluster > "$run_dir/redis.mode"
}

start_redis() {
  if [[ -n "${SLUICE_REDIS:-}" ]]; then
    log "using redis $SLUICE_REDIS"; echo "$SLUICE_REDIS" > "$run_dir/redis.uri"; return
  fi
  if [[ "${SLUICE_REDIS_MODE:-}" == "cluster" ]]; then
    start_cluster; return
  fi
  if port_open "$redis_port"; then
    log "using the redis already answering on 127.0.0.1:$redis_port"
    echo "redis://127.0.0.1:$redis_port" > "$run_dir/redis.uri"; return
  fi
  if ! command -v redis-server >/dev/null && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    log "starting redis in docker on port $redis_port"
    docker run -d --rm --name sluice-fleet-redis -p "127.0.0.1:$redis_port:6379" redis:7-alpine > "$run_dir/redis.container"
  else
    local binary
    binary="$(java -jar "$jar" redis-binary)"
    log "starting $binary on port $redis_port"
    ${detach[@]+"${detach[@]}"} "$binary" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no > "$run_dir/redis.log" 2>&1 &
    echo $! > "$run_dir/redis.pid"
  fi
  for _ in $(seq 1 100); do port_open "$redis_port" && break; sleep 0.1; done
  port_open "$redis_port" || { log "redis did not start"; return 1; }
  echo "redis://127.0.0.1:$redis_port" > "$run_dir/redis.uri"
}

start_instances() {
  local redis_uri name
  redis_uri="$(cat "$run_dir/redis.uri")"
  "$root/scripts/admin-token.sh" "$run_dir/admin-token"
  for i in "${!ports[@]}"; do
    name="sluice-$((i + 1))"
    for port in "${ports[$i]}" "${http_ports[$i]}"; do
      if port_open "$port"; then log "port $port is taken; stop what uses it first"; return 1; fi
    done
    (cd "$root" && SLUICE_ADMIN_TOKEN="$(cat "$run_dir/admin-token")" exec ${detach[@]+"${detach[@]}"} scripts/sluice --host "$fleet_host" --port "${ports[$i]}" --http-port "${http_ports[$i]}" --redis "$redis_uri" \
      --limits "${SLUICE_LIMITS:-conf/limits.json}" --envoy-rules "${SLUICE_ENVOY_RULES:-conf/envoy}") \
      > "$run_dir/$name.log" 2>&1 &
    echo $! > "$run_dir/$name.pid"
  done
  for i in "${!ports[@]}"; do
    name="sluice-$((i + 1))"
    wait_for_port "${ports[$i]}" "$(cat "$run_dir/$name.pid")" "$name"
  done
}

start_demo_backend() {
  [[ "$demo_port" != "0" ]] || return 0
  if port_open "$demo_port"; then log "port $demo_port is taken; stop what uses it first (or SLUICE_DEMO_PORT=0)"; return 1; fi
  local targets
  targets="$(for p in "${ports[@]}"; do printf '127.0.0.1:%s,' "$p"; done)"
  ${detach[@]+"${detach[@]}"} "$root/scripts/sluice" demo-backend --host 127.0.0.1 --port "$demo_port" --targets "${targets%,}" > "$run_dir/demo-backend.log" 2>&1 &
  echo $! > "$run_dir/demo-backend.pid"
  wait_for_port "$demo_port" "$(cat "$run_dir/demo-backend.pid")" demo-backend
}

# Asks every process named by the pid files to stop (SIGTERM: instances drain their checks in flight),
# waits up to 10 s for all of them, then kills what is left.
stop_pid_files() {
  local files=() pids=() file pid
  for file in "$@"; do
    [[ -f "$file" ]] || continue
    files+=("$file")
    pid="$(cat "$file")"
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive -eq 1 ]] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "${files[@]}"
}

down() {
  [[ -d "$run_dir" ]] || return 0
  stop_pid_files "$run_dir/demo-backend.pid" "$run_dir"/sluice-*.pid
  log "instances stopped; stopping redis"
  stop_pid_files "$run_dir"/redis*.pid
  rm -f "$run_dir"/nodes-*.conf
  if [[ -f "$run_dir/redis.container" ]]; then
    docker stop "$(cat "$run_dir/redis.container")" >/dev/null 2>&1 || true
    rm -f "$run_dir/redis.container"
  fi
  rm -f "$run_dir/redis.uri" "$run_dir/redis.mode" "$run_dir/admin-token"
  log "stopped"
}

up() {
  mkdir -p "$run_dir"
  if compgen -G "$run_dir/sluice-*.pid" >/dev/null; then log "already running (scripts/fleet.sh down first)"; return 1; fi
  build_if_needed
  start_redis || { down; return 1; }
  start_instances || { down; return 1; }
  start_demo_backend || { down; return 1; }
  log "ready: gRPC $(for p in "${ports[@]}"; do printf '127.0.0.1:%s ' "$p"; done)(redis $(cat "$run_dir/redis.uri"), logs in $run_dir)"
  log "metrics and health: $(for p in "${http_ports[@]}"; do printf 'http://127.0.0.1:%s/metrics ' "$p"; done)"
  [[ "$demo_port" == "0" ]] || log "demo backend: http://127.0.0.1:$demo_port (POST /login, GET /search, POST /checkout)"
  log "try:  scripts/sluice check --target 127.0.0.1:${ports[0]} --user alice --action login"
  log "admin: scripts/sluice bans --target 127.0.0.1:${ports[0]} --token-file $run_dir/admin-token"
}

status() {
  local any=1
  for file in "$run_dir"/redis*.pid "$run_dir"/sluice-*.pid "$run_dir"/demo-backend.pid; do
    [[ -f "$file" ]] || continue
    any=0
    if kill -0 "$(cat "$file")" 2>/dev/null; then echo "$(basename "$file" .pid): running (pid $(cat "$file"))"; else echo "$(basename "$file" .pid): dead"; fi
  done
  [[ $any -eq 0 ]] || echo "not running"
}

case "${1:-foreground}" in
  up) up ;;
  down) down ;;
  status) status ;;
  foreground)
    up
    sleeper=""
    # `|| true`: the sleeper may have died of the same Ctrl-C (it is in the group), and a failed kill
    # would end the script under set -e before `down`, leaving the instances and Redis running.
    trap '[[ -z "$sleeper" ]] || kill "$sleeper" 2>/dev/null || true; down; exit 0' INT TERM
    log "Ctrl-C stops the fleet"
    # No foreground child in this loop, not even a $(...): a Ctrl-C that reaches one between its fork
    # and its exec leaves it exiting normally, and bash then drops the SIGINT (it takes the child to
    # have handled it) and the fleet keeps running (a loop with $(cat) ignored 16 Ctrl-Cs in 800).
    # The pid is read by a builtin, and the wait builtin returns at once for a trapped signal.
    while true; do
      for file in "$run_dir"/sluice-*.pid; do
        { read -r pid < "$file"; } 2>/dev/null || pid=""
        kill -0 "$pid" 2>/dev/null || { log "$(basename "$file" .pid) died; stopping"; down; exit 1; }
      done
      sleep 1 &
      sleeper=$!
      wait "$sleeper" || true
    done ;;
  *) echo "usage: $0 [up|down|status]" >&2; exit 2 ;;
esac
