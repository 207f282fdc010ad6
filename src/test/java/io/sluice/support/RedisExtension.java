package io.sluice.support;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests the suite's {@link TestRedis}: one standalone Redis, or for classes marked
 * {@link OnRedisCluster} one three-master Cluster. Each is started on first use, kept in the root
 * context so every test class shares it, and closed by JUnit when the whole run ends.
 */
public final class RedisExtension implements ParameterResolver {

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TestRedis.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    boolean cluster = context.getTestClass().map(type -> type.isAnnotationPresent(OnRedisCluster.class)).orElse(false);
    return context.getRoot().getStore(ExtensionContext.Namespace.create(RedisExtension.class))
        .getOrComputeIfAbsent(cluster ? "cluster" : "standalone", key -> {
          try {
            return cluster ? TestRedis.cluster(3) : TestRedis.start();
          } catch (Exception e) {
            throw new IllegalStateException("cannot start " + (cluster ? "a Redis Cluster" : "a Redis server") + " for the tests", e);
          }
        }, TestRedis.class);
  }
}
