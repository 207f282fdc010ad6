package io.sluice.abuse;

import io.sluice.support.OnRedisCluster;

/** The abuse suite again, on a three-master Redis Cluster. */
@OnRedisCluster
class ClusterAbuseTest extends AbuseTest {
}
