#!/usr/bin/env bash
# Sluice's own exhaustion, with Redis healthy throughout, against one instance started as
# scripts/fleet.sh starts it (scripts/sluice: a 160 MB heap):
#   overload       h2load -c 500 -m 100 -D 10 of Checks on one user of `api` (200 tokens, 50/s)
#   never-reading  300 connections x 100 Check streams that announce a receive window of 0 and never
#                  read, held for 10 s, while a polite client checks 20 times a second
# For each it prints answers per second, what `api` allowed against what it may (capacity + refill x
# elapsed + 1: more is over-admission), degraded answers, the polite client's worst wait, peak heap
# (jstat), peak RSS and the instance's log lines. Everything it starts is stopped at the end.
#
#   scripts/bench-exhaustion.sh [overload|never-reading|all]      (default all)
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
metric() { curl -s -m 5 "127.0.0.1:$http_port/metrics" | awk -v name="$1" -v label="${2:-}" 'index($0, name) == 1 && index($0, label) { sum += $NF } END { printf "%.0f", sum }'; }

# watch PID SECONDS: the peak heap sampled every half second, in MB.
watch_heap() {
  local peak=0 now
  for _ in $(seq 1 $(( $2 * 2 ))); do
    now=$(heap_mb "$1"); [[ -n "$now" && "$now" -gt "$peak" ]] && peak=$now
    sleep 0.5
  done
  echo "$peak"
}

# polite SECONDS: checks 20 times a second on its own connection (h2load, a 1 s deadline); prints the worst wait in ms.
polite() {
  frame polite polite > "$work/polite.bin"
  h2load -n $(( $1 * 20 )) -c 1 -m 1 --rps 20 --log-file="$work/polite.log" -H 'grpc-timeout: 1000m' -d "$work/polite.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$grpc_port/sluice.v1.RateLimiter/Check" > /dev/null 2>&1 || true
  awk '{ ms = $3 / 1000; if (ms > worst) worst = ms; if (ms > 1000) late++ } END { printf "%.0f ms worst, %d of %d past 1 s", worst, late, NR }' "$work/polite.log"
}

start() {
  grpc_port=$1; http_port=$2
  start_sluice "$grpc_port" "$http_port" "$redis_port" "$work/limits.json"
  for _ in $(seq 1 100); do [[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$http_port/health/ready")" == 200 ]] && break; sleep 0.1; done
}

report() { # report NAME SECONDS PEAK_HEAP ANSWERS POLITE
  local allowed degraded bound
  allowed=$(( $(metric sluice_decisions_total 'outcome="allow",rule="api"') + $(metric sluice_decisions_total 'outcome="degraded_allow",rule="api"') ))
  degraded=$(metric sluice_degraded_decisions_total)
  bound=$(awk "BEGIN { printf \"%d\", 200 + 50 * $2 + 1 }")
  echo "$1: $(awk "BEGIN { printf \"%.0f\", $4 / $2 }") answers/s; api allowed $allowed of at most $bound" \
    "(over-admitted $(( allowed > bound ? allowed - bound : 0 ))); degraded $degraded; polite client: $5;" \
    "peak heap $3 MB; peak RSS $(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' "/proc/$sluice_pid/status");" \
    "log lines $(wc -l < "$work/sluice-$grpc_port.log")"
}

start_redis "$redis_port"

if [[ "$which" == all || "$which" == overload ]]; then
  start 50076 8076
  frame "overload-$RANDOM" api > "$work/check.bin"
  t0=$(date +%s.%N)
  polite 14 > "$work/polite.txt" &
  polite_pid=$!
  sleep 0.5
  h2load -c 500 -m 100 -D 10 -d "$work/check.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$grpc_port/sluice.v1.RateLimiter/Check" > "$work/h2load.txt" 2>&1 &
  attack=$!
  peak=$(watch_heap "$sluice_pid" 11)
  wait "$attack" || true
  wait "$polite_pid" || true
  for _ in $(seq 1 300); do [[ "$(metric sluice_checks_in_flight)" == 0 ]] && break; sleep 0.1; done
  elapsed=$(awk "BEGIN { print $(date +%s.%N) - $t0 }")
  answers=$(awk '/^requests:/ { print $8 }' "$work/h2load.txt")
  report overload "$elapsed" "$peak" "${answers:-0}" "$(cat "$work/polite.txt")"
  kill -TERM "$sluice_pid"; wait "$sluice_pid" 2>/dev/null || true
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
    s.connect(('127.0.0.1', port))
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
  peak=$(watch_heap "$sluice_pid" 10)
  wait "$attacker" || true
  wait "$polite_pid" || true
  live=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "127.0.0.1:$http_port/health/live" || true)
  report never-reading 10 "$peak" "$(metric sluice_decisions_total)" "$(cat "$work/polite.txt"); /health/live after: ${live:-none}"
fi
