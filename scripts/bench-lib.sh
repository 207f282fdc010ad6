# Shared by the bench-*.sh scripts (sourced, not run): a work directory and every process started
# here are removed and stopped on exit, whatever happens; Redis and Sluice started on given ports.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$root/target/sluice.jar"
work="$(mktemp -d -t sluice-bench-XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 300); do port_open "$1" && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
# A port someone already holds would be "open" at once, and the run would measure that process instead.
require_free() { if port_open "$1"; then echo "port $1 is already in use (a process of an earlier run?): stop it first" >&2; return 1; fi; }

[[ -f "$jar" ]] || (cd "$root" && mvn -B -q -DskipTests package)

# redis-server from PATH when there is one (what production runs), else the binary in the jar.
redis_binary() { command -v redis-server || java -jar "$jar" redis-binary; }

# start_redis PORT: a throwaway Redis without persistence; its pid is $redis_pid.
start_redis() {
  require_free "$1"
  "$(redis_binary)" --port "$1" --bind 127.0.0.1 --save "" --appendonly no > "$work/redis-$1.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  wait_port "$1"
}

# start_sluice GRPC_PORT HTTP_PORT REDIS LIMITS_FILE [FLAG...]: one instance as scripts/fleet.sh starts
# it (scripts/sluice: its JVM flags, plus $SLUICE_JAVA_OPTS), run from the checkout so that it reads
# conf/application.json; its pid is $sluice_pid. REDIS is a local port, or what --redis takes (a
# Cluster's nodes: add --redis-mode cluster). SLUICE_LAUNCH=java-jar starts it with a bare
# `java -jar` instead, to compare.
start_sluice() {
  local grpc=$1 http=$2 redis=$3 limits=$4 launcher=("$root/scripts/sluice")
  shift 4
  require_free "$grpc"
  require_free "$http"
  [[ "$redis" == *://* ]] || redis="redis://127.0.0.1:$redis"
  # shellcheck disable=SC2206
  [[ "${SLUICE_LAUNCH:-}" == "java-jar" ]] && launcher=(java ${SLUICE_JAVA_OPTS:-} -jar "$jar")
  (cd "$root" && exec "${launcher[@]}" --port "$grpc" --http-port "$http" --redis "$redis" \
    --limits "$limits" "$@") > "$work/sluice-$grpc.log" 2>&1 &
  sluice_pid=$!
  pids+=("$sluice_pid")
  wait_port "$grpc"
}

# bench_closed_loop GRPC_PORT REDIS_PORT SECONDS CONCURRENCY [BENCH FLAG...]: one closed-loop run of
# `sluice bench` against one instance (10,000 users, the lean client unless bench_client says
# another, 3 s of warm-up), Redis's work per decision read from REDIS_PORT; the flags (the action,
# say) head its output.
bench_closed_loop() {
  local grpc=$1 redis_port=$2 seconds=$3 concurrency=$4
  shift 4
  echo "== $*"
  java -jar "$jar" bench --targets "127.0.0.1:$grpc" --client "${bench_client:-lean}" --users 10000 --seconds "$seconds" --warmup-seconds 3 \
    --concurrency "$concurrency" --redis "redis://127.0.0.1:$redis_port" "$@"
}

# bench_rounds NAME [seconds] [concurrency] [rounds]: the arguments of a script that compares kinds of
# checks round after round (defaults 10 s, 64 in flight, 2 rounds), and the warning that one round
# measures the instance's warm-up too.
bench_rounds() {
  local name=$1
  seconds=${2:-10}
  concurrency=${3:-64}
  rounds=${4:-2}
  (( rounds >= 2 )) || echo "$name: with one round, the figures include the instance's warm-up: compare from round 2 on" >&2
}
