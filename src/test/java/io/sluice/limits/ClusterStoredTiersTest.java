package io.sluice.limits;

import io.sluice.support.OnRedisCluster;

/** Stored plans again, on a three-master Redis Cluster: the plan's key shares the user's slot. */
@OnRedisCluster
class ClusterStoredTiersTest extends StoredTiersTest {
}
