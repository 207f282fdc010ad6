package io.sluice.shadow;

import io.sluice.support.OnRedisCluster;

/** The shadow mode suite again, on a three-master Redis Cluster. */
@OnRedisCluster
class ClusterShadowModeTest extends ShadowModeTest {
}
