package io.sluice.limits;

import io.sluice.support.OnRedisCluster;

/** Overrides again, on a three-master Redis Cluster: the override's key shares the user's slot. */
@OnRedisCluster
class ClusterOverridesTest extends OverridesTest {
}
