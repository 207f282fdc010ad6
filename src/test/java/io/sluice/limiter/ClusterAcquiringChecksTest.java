package io.sluice.limiter;

import io.sluice.support.OnRedisCluster;

/** Acquiring checks again, on a three-master Redis Cluster: a user's bucket, quota, leases and plan share a slot. */
@OnRedisCluster
class ClusterAcquiringChecksTest extends AcquiringChecksTest {
}
