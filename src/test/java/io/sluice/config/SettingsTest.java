package io.sluice.config;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
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
  void aClusterOrSentinelTakesItsNodesFromTheEnvironmentLikeAnyOtherSetting() throws Exception {
    Settings cluster = SettingsLoader.load(vertx, null, Map.of("SLUICE_REDIS", "redis://a:7000, redis://b:7001",
        "SLUICE_REDIS_MODE", "cluster", "SLUICE_REDIS_PASSWORD", "s3cret"), new JsonObject()).await(10, TimeUnit.SECONDS);
    assertEquals("cluster", cluster.redis().mode());
    assertEquals(java.util.List.of("a:7000", "b:7001"), cluster.redis().accesses().stream().map(io.sluice.config.RedisAccess::address).toList());
    assertTrue(cluster.redis().accesses().stream().allMatch(node -> node.password().equals("s3cret")), "AUTH applies to every node");

    Settings sentinel = SettingsLoader.load(vertx, null, Map.of("SLUICE_REDIS", "redis://s1:26379,redis://s2:26379",
        "SLUICE_REDIS_MODE", "SENTINEL", "SLUICE_REDIS_MASTER_NAME", "mymaster"), new JsonObject()).await(10, TimeUnit.SECONDS);
    assertEquals("sentinel", sentinel.redis().mode());
    assertEquals("mymaster", sentinel.redis().masterName());
  }

  @Test
  void aRedisModeThatCannotWorkIsRefusedWithWhatToSet() {
    String severalStandalone = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("redis", "redis://a:6379,redis://b:6379"))).getMessage();
    assertTrue(severalStandalone.contains("redis names 2 nodes: set redisMode to cluster"), severalStandalone);
    String sentinelWithoutName = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("redis", "redis://s1:26379").put("redisMode", "sentinel"))).getMessage();
    assertTrue(sentinelWithoutName.contains("redisMode sentinel needs redisMasterName"), sentinelWithoutName);
    String unknown = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("redisMode", "replicated"))).getMessage();
    assertTrue(unknown.contains("redisMode must be one of [standalone, cluster, sentinel], was 'replicated'"), unknown);
  }

  @Test
  void theGrpcAndHttpPortsMustDiffer() {
    String refused = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("port", 9000).put("httpPort", 9000))).getMessage();
    assertTrue(refused.contains("port and httpPort must differ, both were 9000"), refused);
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
  void namedAdminTokensComeFromAFileAndABadLineIsRefusedWithoutShowingItsToken(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("admin-tokens"),
        "# who may administer\nalice alice-token-of-more-than-32-characters\n\n  ci-bot\tci-bot-token-of-more-than-32-characters\n");
    Settings settings = SettingsLoader.load(vertx, null, Map.of("SLUICE_ADMIN_TOKENS_FILE", file.toString(),
        "SLUICE_ADMIN_TOKEN", "the-admin-token-of-16-characters"), new JsonObject()).await(10, TimeUnit.SECONDS);
    assertEquals(List.of("admin", "alice", "ci-bot"), List.copyOf(settings.security().adminTokens().keySet()));
    assertEquals("ci-bot-token-of-more-than-32-characters", settings.security().adminTokens().get("ci-bot"));
    assertThat(settings.security().toString()).contains("adminTokens=[admin, alice, ci-bot]").doesNotContain("alice-token");

    // Line 7 has its columns swapped: refused, and neither column is shown (either may be the secret).
    Path bad = Files.writeString(dir.resolve("bad"), String.join("\n", "alice alice-token-of-more-than-32-characters",
        "alice another-token-of-more-than-32-characters", "bob alice-token-of-more-than-32-characters", "carol short-token-of-16-chars",
        "dave has two tokens-of-more-than-32-characters", "admin admin-token-of-more-than-32-characters",
        "e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6 erin@example.com"));
    String refused = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("adminTokensFile", bad.toString()).put("adminToken", "the-admin-token-of-16-characters"))).getMessage();
    assertThat(refused).contains("adminTokensFile " + bad + " line 2: its name is given twice")
        .contains("line 3: its token is another name's too")
        .contains("line 4: its token must be at least 33 characters (openssl rand -hex 24 makes one), was 23")
        .contains("line 5 must be '<name> <token>'")
        .contains("line 6: its name is given twice (adminToken is named admin)")
        .contains("line 7: its token must be at least 33 characters")
        .doesNotContain("another-token").doesNotContain("tokens-of").doesNotContain("e1f2a3b4").doesNotContain("short-token");
    Path none = Files.writeString(dir.resolve("none"), "# nobody yet\n");
    assertThat(assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject().put("adminTokensFile", none.toString())))
        .getMessage()).contains("adminTokensFile " + none + " holds no token");
    assertThat(assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("adminTokensFile", dir.resolve("missing").toString()))).getMessage()).contains("adminTokensFile must name a readable file");
  }

  @Test
  void theAdminTokenMayComeFromAFileAndAFileThatCannotServeIsRefusedNamed(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("admin-token"), "a-token-of-more-than-16-characters\n");
    Settings settings = SettingsLoader.load(vertx, null, Map.of("SLUICE_ADMIN_TOKEN_FILE", file.toString()), new JsonObject())
        .await(10, TimeUnit.SECONDS);
    assertEquals("a-token-of-more-than-16-characters", settings.security().adminToken(), "the trailing newline is not the token's");

    String both = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("adminTokenFile", file.toString()).put("adminToken", "another-token-of-16-characters"))).getMessage();
    assertTrue(both.contains("adminToken and adminTokenFile are both set: set one"), both);
    String missing = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("adminTokenFile", dir.resolve("nothing").toString()))).getMessage();
    assertTrue(missing.contains("adminTokenFile must name a readable file holding the admin token, was '" + dir.resolve("nothing") + "'"), missing);
    Path empty = Files.writeString(dir.resolve("empty"), "\n");
    String blank = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("adminTokenFile", empty.toString()))).getMessage();
    assertTrue(blank.contains("adminTokenFile " + empty + " is empty"), blank);
    Path shortToken = Files.writeString(dir.resolve("short"), "short");
    String tooShort = assertThrows(IllegalArgumentException.class, () -> Settings.fromJson(new JsonObject()
        .put("adminTokenFile", shortToken.toString()))).getMessage();
    assertTrue(tooShort.contains("the token in adminTokenFile " + shortToken + " must be empty (admin APIs off) or at least 16 characters, was 5"),
        tooShort);
    assertTrue(!tooShort.contains("short characters") && !settings.toString().contains("a-token-of"), "the token is never shown");
  }

  @Test
  void missingExplicitSettingsFileIsAnError() {
    assertThrows(Exception.class, () -> SettingsLoader.load(vertx, "/nonexistent/app.json", Map.of(), new JsonObject())
        .await(10, TimeUnit.SECONDS));
  }
}
