package io.sluice.support;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The tests of the class get the suite's Redis Cluster (three masters) as their {@link TestRedis}:
 * a subclass so annotated runs a behaviour suite again on a Cluster.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface OnRedisCluster {
}
