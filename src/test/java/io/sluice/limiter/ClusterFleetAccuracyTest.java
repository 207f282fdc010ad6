package io.sluice.limiter;

import io.sluice.support.OnRedisCluster;

/** The fleet accuracy suite again, on a three-master Redis Cluster. */
@OnRedisCluster
class ClusterFleetAccuracyTest extends FleetAccuracyTest {
}
