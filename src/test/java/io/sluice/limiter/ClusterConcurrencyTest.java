package io.sluice.limiter;

import io.sluice.support.OnRedisCluster;

/** Concurrency limits again, on a three-master Redis Cluster: a user's leases and bans share a slot. */
@OnRedisCluster
class ClusterConcurrencyTest extends ConcurrencyTest {
}
