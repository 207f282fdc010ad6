#!/usr/bin/env bash
# The hot path's own Redis client against vertx-redis-client (send per check, and batch() of each
# event-loop turn) on the same load: one event loop, one connection, a closed loop of EVALSHAs of
# lua/token_bucket.lua over 10,000 users, against a throwaway Redis (src/test/.../RedisClientsBench).
#
#   scripts/bench-redis-clients.sh [seconds] [in-flight] [rounds]      (defaults: 10 64 2)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mvn -B -q -o -Dstyle.color=never -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test >&2 \
  || mvn -B -q -Dstyle.color=never -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test >&2
exec java -XX:+UseSerialGC -Xmx512m -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
  io.sluice.redis.RedisClientsBench "${1:-10}" "${2:-64}" "${3:-2}"
