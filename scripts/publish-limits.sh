#!/usr/bin/env bash
# Change the limits of the whole fleet through Redis, durably:
#
#   scripts/publish-limits.sh '{"rules":{"login":{"capacity":10,"refillPerSecond":1}}}'
#   scripts/publish-limits.sh --file change.json
#   scripts/publish-limits.sh '{"reset":true}'        # back to what conf/limits.json says
#
# The message is merged into the stored changes and checked on top of conf/limits.json (another file:
# --limits FILE); only a valid result is stored (key {sluice}:limits) and published (channel
# sluice:limits), in one MULTI, so instances that start later or were disconnected apply exactly what
# the running ones do. An invalid change prints the reasons, exits 1, and stores nothing.
# Redis: $SLUICE_REDIS (and $SLUICE_REDIS_MODE), else the local fleet's (run/), else redis://127.0.0.1:6379;
# the limits file: $SLUICE_LIMITS, default conf/limits.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export SLUICE_LIMITS="${SLUICE_LIMITS:-$root/conf/limits.json}"
run_dir="${SLUICE_RUN_DIR:-$root/run}"
if [[ -z "${SLUICE_REDIS:-}" && -f "$run_dir/redis.uri" ]]; then
  SLUICE_REDIS="$(cat "$run_dir/redis.uri")"
  export SLUICE_REDIS
  [[ -n "${SLUICE_REDIS_MODE:-}" || ! -f "$run_dir/redis.mode" ]] || export SLUICE_REDIS_MODE="$(cat "$run_dir/redis.mode")"
fi
exec "$root/scripts/sluice" publish-limits "$@"
