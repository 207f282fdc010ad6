package io.sluice.config;

import io.vertx.core.Vertx;
import io.sluice.limits.FailureMode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SettingsTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void environmentOverridesFileAndFlagsOverrideEnvironment(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("application.json");
    Files.writeString(file, "{\"port\": 1111, \"redis\": \"redis://file:6379\", \"limits\": \"file.json\"}");
    Settings settings = SettingsLoader.load(vertx, file.toString(),
            Map.of("SLUICE_PORT", "2222", "SLUICE_REDIS", "redis://env:6379", "SLUICE_REDIS_TIMEOUT_MS", "75"),
            new JsonObject().put("port", 3333))
        .await(10, TimeUnit.SECONDS);
    assertEquals(3333, settings.port());
    assertEquals("redis://env:6379", settings.redis().uri());
    assertEquals("file.json", settings.limits());
    assertEquals(75, settings.redis().timeoutMs());
  }

  @Test
  void defaultsApplyWithoutAnyFile(@TempDir Path dir) throws Exception {
    Settings settings = SettingsLoader.load(vertx, null, Map.of(), new JsonObject()).await(10, TimeUnit.SECONDS);
    assertEquals(50051, settings.port());
    assertEquals(FailureMode.LOCAL, settings.failureMode(), "neither the outage nor open gates: each instance's share");
  }

  @Test
  void environmentVariableNamesAreUpperSnakeCase() {
    assertEquals("SLUICE_REDIS_TIMEOUT_MS", SettingsLoader.envName("redisTimeoutMs"));
    assertEquals("SLUICE_PORT", SettingsLoader.envName("port"));
  }

  @Test
  void invalidValuesAreNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("port", 70000).put("redis", "http://x").put("failureMode", "maybe").put("prot", 1)));
    assertTrue(e.getMessage().contains("port must be an integer from 1 to 65535, was 70000"), e.getMessage());
    assertTrue(e.getMessage().contains("redis must be a redis://"), e.getMessage());
    assertTrue(e.getMessage().contains("failureMode must be 'open', 'closed' or 'local'"), e.getMessage());
    assertTrue(e.getMessage().contains("was 'maybe'"), e.getMessage());
    assertTrue(e.getMessage().contains("unknown setting 'prot'"), e.getMessage());
  }

  @Test
  void missingExplicitSettingsFileIsAnError() {
    assertThrows(Exception.class, () -> SettingsLoader.load(vertx, "/nonexistent/app.json", Map.of(), new JsonObject())
        .await(10, TimeUnit.SECONDS));
  }
}
