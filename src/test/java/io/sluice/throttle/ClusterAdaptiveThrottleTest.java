package io.sluice.throttle;

import io.sluice.support.OnRedisCluster;

/** The adaptive throttling suite again, on a three-master Redis Cluster. */
@OnRedisCluster
class ClusterAdaptiveThrottleTest extends AdaptiveThrottleTest {
}
