package io.sluice.limiter;

import io.sluice.support.OnRedisCluster;

/** Settled costs again, on a three-master Redis Cluster: the bucket, the quota and the adjustment id share the user's slot. */
@OnRedisCluster
class ClusterAdjustTest extends AdjustTest {
}
