package io.sluice.support;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests the suite's one {@link TestRedis}: started on first use, kept in the root context so
 * every test class shares it, and closed by JUnit when the whole run ends.
 */
public final class RedisExtension implements ParameterResolver {

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TestRedis.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return context.getRoot().getStore(ExtensionContext.Namespace.create(RedisExtension.class))
        .getOrComputeIfAbsent(TestRedis.class, key -> {
          try {
            return TestRedis.start();
          } catch (Exception e) {
            throw new IllegalStateException("cannot start a Redis server for the tests", e);
          }
        }, TestRedis.class);
  }
}
