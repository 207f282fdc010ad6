#!/usr/bin/env bash
# Sluice's own exhaustion, with Redis healthy throughout, against one instance started as
# scripts/fleet.sh starts it (scripts/sluice: a 160 MB heap):
#   overload       h2load -c 500 -m 100 -D 10 of Checks on one user of `api` (200 tokens, 50/s)
#   never-reading  300 connections x 100 Check streams that announce a receive window of 0 and never
#                  read, held for 10 s, while a polite client checks 20 times a second
#   first-flight   500 connections opening at once, each sending 16 Checks before it read the
#                  server's settings (h2load -c 500 -m 16 -n 8000), against a cold instance;
#                  FIRST_FLIGHT_STREAMS=100 sends 100 each, as OverloadIT's flood does
# For each it prints answers per second, the most `api` allowed beyond capacity + refill x window + 1
# between any two of its half-second samples (over-admission), degraded answers, the polite client's
# worst wait, peak heap (jstat), peak RSS and the instance's log lines. Everything it starts is stopped.
#
#   scripts/bench-exhaustion.sh [overload|never-reading|first-flight|all]      (default all)
# SLUICE_JAR=/path/to/an/older/sluice.jar measures another build (docs/benchmarks.md: before and after).
set -euo pipefail
which="${1:-all}"
command -v h2load >/dev/null || { echo "h2load is missing: apt-get install nghttp2-client" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is missing" >&2; exit 2; }
source "$(dirname "$0")/bench-lib.sh"
[[ -n "${SLUICE_JAR:-}" ]] && jar="$SLUICE_JAR"
export SLUICE_JAR="$jar"
redis_port=6396
cat > "$work/limits.json" <<'LIMITS'
{ "rules": { "default": { "capacity": 100, "refillPerSecond": 10 },
             "api": { "capacity": 200, "refillPerSecond": 50 },
             "polite": { "capacity": 100000, "refillPerSecond": 100000 } } }
LIMITS
# gRPC frames: a zero byte (not compressed), the length (4 bytes, big-endian), the CheckRequest.
frame() { python3 -c "import sys; u, a = sys.argv[1].encode(), sys.argv[2].encode(); m = b'\x0a' + bytes([len(u)]) + u + b'\x12' + bytes([len(a)]) + a; sys.stdout.buffer.write(b'\x00' + len(m).to_bytes(4, 'big') + m)" "$1" "$2"; }

heap_mb() { jstat -gc "$1" 2>/dev/null | awk 'NR == 2 { printf "%.0f", ($3 + $4 + $6 + $8) / 1024 }'; }
# A scrape that fails (an instance too busy to answer) counts as 0.
metric() { { curl -s -m 5 "127.0.0.1:$http_port/metrics" || true; } | awk -v name="$1" -v label="${2:-}" 'index($0, name) == 1 && index($0, label) { sum += $NF } END { printf "%.0f", sum }'; }

# What `api` allowed so far, degraded answers included, from one scrape; nothing when the scrape failed.
allowed_api() {
  { curl -s -m 5 "127.0.0.1:$http_port/metrics" || true; } | awk '/^sluice_decisions_total/ && /rule="api"/ && /outcome="(degraded_)?allow"/ { sum += $NF; seen = 1 }
    END { if (seen) printf "%.0f", sum }'
}

# watch PID SECONDS: every half second, the time, the heap (MB) and what `api` allowed so far, into $work/samples.
watch() {
  : > "$work/samples"
  for _ in $(seq 1 $(( $2 * 2 ))); do
    # "-" where /metrics did not answer: the heap is still sampled, the window not.
    allowed=$(allowed_api || true)
    heap=$(heap_mb "$1" || true)
    echo "$(date +%s.%N) ${heap:-0} ${allowed:--}" >> "$work/samples"
    sleep 0.5
  done
}

# The most `api` allowed beyond capacity + refill x elapsed + 1 between any two samples: over-admission.
over_admitted() {
  awk '$3 != "-" { n++; t[n] = $1; a[n] = $3 } END { worst = 0; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) {
         over = a[j] - a[i] - (200 + 50 * (t[j] - t[i]) + 1); if (over > worst) worst = over }; printf "%d", worst }' "$work/samples"
}

# polite SECONDS: checks 20 times a second on its own connection (h2load, a 1 s deadline); prints the worst wait in ms.
polite() {
  frame polite polite > "$work/polite.bin"
  rm -f "$work/polite.log"
  # An instance that answers nothing would hold h2load for ever: it gives up 5 s after the planned end.
  timeout $(( $1 + 5 )) h2load -n $(( $1 * 20 )) -c 1 -m 1 --rps 20 --log-file="$work/polite.log" -H 'grpc-timeout: 1000m' -d "$work/polite.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$grpc_port/sluice.v1.RateLimiter/Check" > /dev/null 2>&1 || true
  [[ -f "$work/polite.log" ]] || { echo "not one answer"; return; }
  awk -v planned=$(( $1 * 20 )) '{ ms = $3 / 1000; if (ms > worst) worst = ms; if (ms > 1000) late++ }
    END { printf "%.0f ms worst, %d of %d answers past 1 s, %d never answered", worst, late, NR, planned - NR }' "$work/polite.log"
}

start() {
  grpc_port=$1; http_port=$2
  start_sluice "$grpc_port" "$http_port" "$redis_port" "$work/limits.json"
  for _ in $(seq 1 100); do [[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$http_port/health/ready")" == 200 ]] && break; sleep 0.1; done
}

report() { # report NAME SECONDS ANSWERS POLITE
  echo "$1: $(awk "BEGIN { printf \"%.0f\", $3 / $2 }") answers/s; api allowed $(allowed_api)," \
    "over-admitted at most $(over_admitted) in any window (capacity + refill x window + 1);" \
    "degraded $(metric sluice_degraded_decisions_total); polite client: $4;" \
    "peak heap $(awk '$2 > peak { peak = $2 } END { print peak + 0 }' "$work/samples") MB;" \
    "peak RSS $(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' "/proc/$sluice_pid/status"); log lines $(wc -l < "$work/sluice-$grpc_port.log")"
}

# flood POLITE_SECONDS WATCH_SECONDS H2LOAD_OPTIONS...: the polite client, then half a second later
# h2load of $work/check.bin with those options (its output in $work/h2load.txt), sampled meanwhile.
flood() {
  local polite_seconds=$1 watch_seconds=$2
  shift 2
  polite "$polite_seconds" > "$work/polite.txt" &
  local polite_pid=$!
  sleep 0.5
  h2load "$@" -d "$work/check.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$grpc_port/sluice.v1.RateLimiter/Check" > "$work/h2load.txt" 2>&1 &
  local attack=$!
  watch "$sluice_pid" "$watch_seconds"
  wait "$attack" || true
  wait "$polite_pid" || true
}

start_redis "$redis_port"

if [[ "$which" == all || "$which" == overload ]]; then
  start 50076 8076
  frame "overload-$RANDOM" api > "$work/check.bin"
  flood 14 13 -c 500 -m 100 -D 10
  answers=$(awk '/^requests:/ { print $8 }' "$work/h2load.txt")
  report overload 10 "${answers:-0}" "$(cat "$work/polite.txt")"
  kill -KILL "$sluice_pid"; wait "$sluice_pid" 2>/dev/null || true
fi

if [[ "$which" == all || "$which" == first-flight ]]; then
  start 50078 8078
  frame "first-flight-$RANDOM" api > "$work/check.bin"
  streams="${FIRST_FLIGHT_STREAMS:-16}"
  flood 5 5 -c 500 -m "$streams" -n $(( 500 * streams ))
  echo "first-flight: $(grep '^requests:' "$work/h2load.txt"); polite client: $(cat "$work/polite.txt")"
  kill -KILL "$sluice_pid"; wait "$sluice_pid" 2>/dev/null || true
fi

if [[ "$which" == all || "$which" == never-reading ]]; then
  start 50077 8077
  frame "reads-nothing" api > "$work/check.bin"
  # The attacker: a client preface, SETTINGS_INITIAL_WINDOW_SIZE 0, then HEADERS + DATA of 100 Check
  # calls per connection on 300 connections with tiny socket buffers, never reading; held for 10 s.
  python3 - "$grpc_port" "$work/check.bin" <<'ATTACKER' &
import socket, struct, sys, time
port, body = int(sys.argv[1]), open(sys.argv[2], 'rb').read()
def frame(kind, flags, stream, payload):
    return struct.pack('>I', len(payload))[1:] + bytes([kind, flags]) + struct.pack('>I', stream) + payload
def literal(index, value):
    return bytes([index, len(value)]) + value
headers = (b'\x83\x86' + literal(4, b'/sluice.v1.RateLimiter/Check') + literal(1, b'127.0.0.1')
           + b'\x0f\x10' + bytes([16]) + b'application/grpc' + b'\x00\x02te\x08trailers')
sockets = []
for c in range(300):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    try:
        s.connect(('127.0.0.1', port))
    except OSError:
        continue
    out = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + frame(4, 0, 0, b'\x00\x04\x00\x00\x00\x00')
    for i in range(100):
        out += frame(1, 4, 1 + 2 * i, headers) + frame(0, 1, 1 + 2 * i, body)
    try:
        s.sendall(out)
    except OSError:
        pass
    sockets.append(s)
time.sleep(10)
ATTACKER
  attacker=$!
  polite 10 > "$work/polite.txt" &
  polite_pid=$!
  watch "$sluice_pid" 10
  wait "$attacker" || true
  wait "$polite_pid" || true
  live=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "127.0.0.1:$http_port/health/live" || true)
  report never-reading 10 "$(metric sluice_decisions_total)" "$(cat "$work/polite.txt"); /health/live after: ${live:-none}"
  kill -KILL "$sluice_pid"; wait "$sluice_pid" 2>/dev/null || true
fi
