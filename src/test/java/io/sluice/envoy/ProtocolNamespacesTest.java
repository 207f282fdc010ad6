package io.sluice.envoy;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import static io.sluice.envoy.EnvoyRateLimitTest.ask;
import static io.sluice.envoy.EnvoyRateLimitTest.descriptor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A native caller may send any printable {@code user_id}, one spelled like an Envoy descriptor's
 * subject too: it must meet none of that descriptor's state (its bans, its tokens, the answers an
 * instance caches for it), nor the other way round. Both rules here ban the whole subject (user
 * scope), the ban every check of that subject reads.
 */
@ExtendWith(RedisExtension.class)
class ProtocolNamespacesTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 1000, "refillPerSecond": 1000 },
          "login": { "capacity": 1, "refillPerSecond": 0.001,
                     "abuse": { "maxViolations": 1, "banSeconds": 60, "scope": "user" } } } }
      """;
  private static final String RULES = """
      domain: edge
      descriptors:
        - key: remote_address
          rate_limit:
            unit: minute
            requests_per_unit: 3
            abuse: {maxViolations: 1, banSeconds: 60, scope: user}
      """;

  private static Path rulesDir;
  private static SluiceFixture sluice;

  @BeforeAll
  static void start(TestRedis redis) throws Exception {
    rulesDir = Files.createTempDirectory("envoy-rules");
    Files.writeString(rulesDir.resolve("edge.yaml"), RULES);
    sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("envoyRules", rulesDir.toString()));
  }

  @AfterAll
  static void stop() throws Exception {
    sluice.close();
    Files.deleteIfExists(rulesDir.resolve("edge.yaml"));
    Files.deleteIfExists(rulesDir);
  }

  @Test
  void aNativeUserSpelledLikeADescriptorCannotBanIt() {
    String address = "203.0.113." + UUID.randomUUID();
    String lookalike = "edge/remote_address=" + address;
    assertEquals(Decision.ALLOW, sluice.check(lookalike, "login").getDecision());
    assertEquals(Decision.BAN, sluice.check(lookalike, "login").getDecision(), "the native user banned itself");

    RateLimitResponse edge = ask(sluice, "edge", descriptor("remote_address", address));
    assertEquals(Code.OK, edge.getOverallCode(), "the address is not banned at the edge");
    assertEquals(2, edge.getStatuses(0).getLimitRemaining(), "and its tokens are its own");
  }

  @Test
  void aBannedDescriptorDoesNotRefuseANativeUserSpelledLikeIt() {
    String address = "198.51.100." + UUID.randomUUID();
    RateLimitDescriptor ip = descriptor("remote_address", address);
    for (int i = 0; i < 3; i++) {
      assertEquals(Code.OK, ask(sluice, "edge", ip).getOverallCode());
    }
    assertEquals(Code.OVER_LIMIT, ask(sluice, "edge", ip).getOverallCode());
    assertThat(sluice.await(sluice.client().listBans("")).getBansList())
        .as("the descriptor is banned, and listed as an Envoy subject")
        .anySatisfy(ban -> assertEquals("envoy:edge/remote_address=" + address, ban.getUserId()));

    assertEquals(Decision.ALLOW, sluice.check("edge/remote_address=" + address, "login").getDecision());
    assertEquals(Decision.ALLOW, sluice.check("envoy:edge/remote_address=" + address, "login").getDecision(),
        "not even spelled as the listing shows it");
  }

  @Test
  void anOperatorLiftsADescriptorsBanByTheNameTheListingShows() {
    String address = "192.0.2." + UUID.randomUUID();
    RateLimitDescriptor ip = descriptor("remote_address", address);
    for (int i = 0; i < 4; i++) {
      ask(sluice, "edge", ip);
    }
    assertThat(ask(sluice, "edge", ip).getStatuses(0).getDurationUntilReset().getSeconds()).as("banned").isGreaterThan(50);

    assertEquals(1, sluice.await(sluice.client().unban("envoy:edge/remote_address=" + address, "")).getRemoved());

    assertThat(sluice.await(sluice.client().listBans("envoy:edge/remote_address=" + address)).getBansList()).isEmpty();
    // Still out of tokens, the next request is a violation again: a new ban, at the next level (twice
    // as long), decided by Redis. The lifted one is not answered from the instance's cache.
    RateLimitResponse after = ask(sluice, "edge", ip);
    assertThat(after.getStatuses(0).getDurationUntilReset().getSeconds()).isBetween(61L, 120L);
  }

  @Test
  void aDescriptorLongerThanAUserIdCanBeListedAndUnbannedByItsName() {
    // A subject may be up to 512 bytes where a user id is at most 256: its admin name must be taken.
    String address = "2001:db8::" + "a".repeat(300);
    RateLimitDescriptor ip = descriptor("remote_address", address);
    for (int i = 0; i < 4; i++) {
      ask(sluice, "edge", ip);
    }
    String name = "envoy:edge/remote_address=" + address;
    assertThat(sluice.await(sluice.client().listBans(name)).getBansList()).hasSize(1);
    assertEquals(1, sluice.await(sluice.client().unban(name, "")).getRemoved());
  }
}
