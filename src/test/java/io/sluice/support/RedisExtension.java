package io.sluice.support;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.opentest4j.TestAbortedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives tests the suite's {@link TestRedis}: one standalone Redis, or for classes marked
 * {@link OnRedisCluster} one three-master Cluster. Each is started on first use, kept in the root
 * context so every test class shares it, and closed by JUnit when the whole run ends.
 *
 * <p>Cluster classes are skipped, not failed, only where no redis-server binary can run. The
 * Cluster is asked for before the class and before each test, since a skip while resolving a
 * parameter would count as an error; a class skipped as a whole is reported without its reason,
 * so the reason is logged too.
 */
public final class RedisExtension implements ParameterResolver, BeforeAllCallback, BeforeEachCallback {

  private static final Logger log = LoggerFactory.getLogger(RedisExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    try {
      beforeEach(context);
    } catch (TestAbortedException skipped) {
      log.warn("{}: {}", context.getDisplayName(), skipped.getMessage());
      throw skipped;
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (onCluster(context)) {
      redis(context);
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TestRedis.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return redis(context);
  }

  private static boolean onCluster(ExtensionContext context) {
    return context.getTestClass().map(type -> type.isAnnotationPresent(OnRedisCluster.class)).orElse(false);
  }

  private static TestRedis redis(ExtensionContext context) {
    boolean cluster = onCluster(context);
    return context.getRoot().getStore(ExtensionContext.Namespace.create(RedisExtension.class))
        .getOrComputeIfAbsent(cluster ? "cluster" : "standalone", key -> {
          try {
            return cluster ? TestRedis.cluster(3) : TestRedis.start();
          } catch (TestAbortedException skipped) {
            throw skipped;
          } catch (Exception e) {
            throw new IllegalStateException("cannot start " + (cluster ? "a Redis Cluster" : "a Redis server") + " for the tests", e);
          }
        }, TestRedis.class);
  }
}
