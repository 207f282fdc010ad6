package io.sluice.deploy;

import io.sluice.support.Processes.Result;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static io.sluice.support.Processes.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * scripts/admin-token.sh, which the local fleet and compose's admin-token service both run, and an
 * instance that reads the token it wrote through {@code adminTokenFile}, as compose's instances do.
 */
@ExtendWith(RedisExtension.class)
class AdminTokenTest {

  @Test
  void theScriptMakesARandomTokenKeepsItAndTakesTheOneGiven(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("run/admin-token");
    Result made = run(Map.of("SLUICE_ADMIN_TOKEN", ""), 30, "scripts/admin-token.sh", file.toString());
    assertEquals(0, made.exitCode(), made.output());
    String token = Files.readString(file);
    assertThat(token).matches("[0-9a-f]{48}");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), "readable by its owner only");

    assertEquals(0, run(Map.of("SLUICE_ADMIN_TOKEN", ""), 30, "scripts/admin-token.sh", file.toString()).exitCode());
    assertEquals(token, Files.readString(file), "a second run keeps the token: instances and the CLI keep agreeing");

    assertEquals(0, run(Map.of("SLUICE_ADMIN_TOKEN", "the-operators-own-token-of-32-chars"), 30, "scripts/admin-token.sh", file.toString())
        .exitCode());
    assertEquals("the-operators-own-token-of-32-chars", Files.readString(file));
  }

  @Test
  void anInstanceServesTheAdminApisWithTheTokenOfItsFile(TestRedis redis, @TempDir Path dir) throws Exception {
    Path file = dir.resolve("admin-token");
    assertEquals(0, run(Map.of("SLUICE_ADMIN_TOKEN", ""), 30, "scripts/admin-token.sh", file.toString()).exitCode());
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), "{ \"rules\": { \"default\": { \"capacity\": 5, \"refillPerSecond\": 1 } } }",
        new JsonObject().put("adminToken", "").put("adminTokenFile", file.toString()))) {
      assertEquals(Files.readString(file), sluice.sluice().settings().security().adminToken());
      // The fixture's client sends the instance's token: the Admin service answers it.
      assertThat(sluice.await(sluice.client().listBans("")).getBansList()).isNotNull();
    }
  }
}
