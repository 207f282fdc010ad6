package io.sluice.limits;

import io.sluice.support.OnRedisCluster;

/** The live limits suite again, on a three-master Redis Cluster. */
@OnRedisCluster
class ClusterLiveLimitsTest extends LiveLimitsTest {
}
