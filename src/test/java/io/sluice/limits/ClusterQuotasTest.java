package io.sluice.limits;

import io.sluice.support.OnRedisCluster;

/** Quotas again, on a three-master Redis Cluster: the quota's key shares the user's slot. */
@OnRedisCluster
class ClusterQuotasTest extends QuotasTest {
}
