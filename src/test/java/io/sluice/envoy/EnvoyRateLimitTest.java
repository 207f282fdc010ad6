package io.sluice.envoy;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.support.Await;
import io.sluice.support.Http;
import io.sluice.support.LogCapture;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * envoy.service.ratelimit.v3.RateLimitService through a real gRPC client and Envoy's own message
 * classes: the behaviours envoyproxy/ratelimit documents, with Sluice's token buckets, and exact
 * across two instances.
 */
@ExtendWith(RedisExtension.class)
class EnvoyRateLimitTest {

  static final String RULES = """
      domain: edge
      descriptors:
        - key: remote_address
          rate_limit: {unit: minute, requests_per_unit: 3}
        - key: remote_address
          value: 50.0.0.5
          rate_limit: {unit: second, requests_per_unit: 0}
        - key: path
          value: /api/*
          rate_limit: {unit: minute, requests_per_unit: 2}
        - key: files
          value: files/*
          share_threshold: true
          rate_limit: {unit: hour, requests_per_unit: 2}
        - key: internal
          rate_limit: {unlimited: true}
        - key: trial
          shadow_mode: true
          rate_limit: {unit: minute, requests_per_unit: 1}
        - key: message_type
          value: marketing
          descriptors:
            - key: to_number
              rate_limit: {unit: day, requests_per_unit: 5}
        - key: key_1
          value: value_1
          descriptors:
            - key: user
              rate_limit: {name: specific_limit, unit: second, requests_per_unit: 5}
        - key: key_2
          value: value_2
          descriptors:
            - key: user
              rate_limit: {replaces: [{name: specific_limit}], unit: second, requests_per_unit: 10}
        - key: client
          rate_limit:
            unit: minute
            requests_per_unit: 1
            abuse: {maxViolations: 2, banSeconds: 60}
      """;
  private static final String LIMITS = "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }";

  private static Path rulesDir;
  private static SluiceFixture a;
  private static SluiceFixture b;

  @BeforeAll
  static void start(TestRedis redis) throws Exception {
    rulesDir = Files.createTempDirectory("envoy-rules");
    Files.writeString(rulesDir.resolve("edge.yaml"), RULES);
    JsonObject settings = new JsonObject().put("envoyRules", rulesDir.toString()).put("envoyResponseHeaders", true);
    a = SluiceFixture.start(redis.uri(), LIMITS, settings);
    b = SluiceFixture.start(redis.uri(), LIMITS, settings);
  }

  @AfterAll
  static void stop() throws Exception {
    a.close();
    b.close();
  }

  static RateLimitDescriptor descriptor(String... keyValues) {
    RateLimitDescriptor.Builder descriptor = RateLimitDescriptor.newBuilder();
    for (int i = 0; i < keyValues.length; i += 2) {
      descriptor.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(keyValues[i]).setValue(keyValues[i + 1]));
    }
    return descriptor.build();
  }

  static RateLimitResponse ask(SluiceFixture sluice, String domain, RateLimitDescriptor... descriptors) {
    return sluice.await(sluice.client().shouldRateLimit(RateLimitRequest.newBuilder().setDomain(domain)
        .addAllDescriptors(List.of(descriptors)).build()));
  }

  static String fresh() {
    return UUID.randomUUID().toString();
  }

  @Test
  void withThreePerMinuteTheFourthRequestIsOverTheLimit() {
    RateLimitDescriptor ip = descriptor("remote_address", "10.0.0." + fresh());
    for (int remaining = 2; remaining >= 0; remaining--) {
      RateLimitResponse ok = ask(a, "edge", ip);
      assertEquals(Code.OK, ok.getOverallCode());
      DescriptorStatus status = ok.getStatuses(0);
      assertEquals(3, status.getCurrentLimit().getRequestsPerUnit());
      assertEquals(RateLimitResponse.RateLimit.Unit.MINUTE, status.getCurrentLimit().getUnit());
      assertEquals(remaining, status.getLimitRemaining());
    }
    RateLimitResponse over = ask(b, "edge", ip);
    assertEquals(Code.OVER_LIMIT, over.getOverallCode());
    assertEquals(Code.OVER_LIMIT, over.getStatuses(0).getCode());
    assertEquals(0, over.getStatuses(0).getLimitRemaining());
    assertThat(over.getStatuses(0).getDurationUntilReset().getSeconds()).isBetween(1L, 60L);
  }

  @Test
  void everyDescriptorIsAnsweredInOrderAndOneOverLimitMakesTheWholeOverLimit() {
    RateLimitResponse mixed = ask(a, "edge", descriptor("remote_address", "50.0.0.5"), descriptor("nothing", "here"),
        descriptor("remote_address", "10.1." + fresh()));
    assertEquals(Code.OVER_LIMIT, mixed.getOverallCode());
    assertEquals(Code.OVER_LIMIT, mixed.getStatuses(0).getCode(), "the specific value (0 per second) wins over the key");
    assertEquals(0, mixed.getStatuses(0).getCurrentLimit().getRequestsPerUnit());
    assertEquals(Code.OK, mixed.getStatuses(1).getCode());
    assertFalse(mixed.getStatuses(1).hasCurrentLimit(), "no rule: no limit");
    assertEquals(Code.OK, mixed.getStatuses(2).getCode());
    assertEquals(2, mixed.getStatuses(2).getLimitRemaining());
  }

  @Test
  void aRequestsDescriptorsLeaveForRedisInOneWrite() {
    RateLimitDescriptor[] twenty = new RateLimitDescriptor[20];
    for (int i = 0; i < twenty.length; i++) {
      twenty[i] = descriptor("remote_address", "10.2." + i + "." + fresh());
    }
    double writes = a.counter(Metrics.REDIS_WRITES);
    double checks = a.counter(Metrics.REDIS_CHECKS_WRITTEN);
    assertEquals(Code.OK, ask(a, "edge", twenty).getOverallCode());
    assertEquals(1, a.counter(Metrics.REDIS_WRITES) - writes, "one round trip");
    assertEquals(20, a.counter(Metrics.REDIS_CHECKS_WRITTEN) - checks);
  }

  @Test
  void wildcardValuesAndValueLessKeys() {
    String api = "/api/" + fresh();
    assertEquals(Code.OK, ask(a, "edge", descriptor("path", api)).getOverallCode());
    assertEquals(Code.OK, ask(b, "edge", descriptor("path", api)).getOverallCode());
    assertEquals(Code.OVER_LIMIT, ask(a, "edge", descriptor("path", api)).getOverallCode());
    assertEquals(Code.OK, ask(a, "edge", descriptor("path", api + "x")).getOverallCode(), "each value its own bucket");

    String dir = "files/" + fresh();
    assertEquals(Code.OK, ask(a, "edge", descriptor("files", dir + "/a.pdf")).getOverallCode());
    assertEquals(Code.OK, ask(a, "edge", descriptor("files", dir + "/b.csv")).getOverallCode());
    assertEquals(Code.OVER_LIMIT, ask(a, "edge", descriptor("files", "files/" + fresh())).getOverallCode(),
        "share_threshold: every files/* shares one bucket");

    RateLimitResponse valueLess = ask(a, "edge", descriptor("remote_address", ""));
    assertEquals(3, valueLess.getStatuses(0).getCurrentLimit().getRequestsPerUnit(), "an empty value matches the key's rule");
  }

  @Test
  void nestedDescriptorsAreLimitedOnlyAtTheirDepth() {
    String number = fresh();
    RateLimitResponse nested = ask(a, "edge", descriptor("message_type", "marketing", "to_number", number));
    assertEquals(5, nested.getStatuses(0).getCurrentLimit().getRequestsPerUnit());
    assertEquals(RateLimitResponse.RateLimit.Unit.DAY, nested.getStatuses(0).getCurrentLimit().getUnit());
    assertFalse(ask(a, "edge", descriptor("message_type", "marketing")).getStatuses(0).hasCurrentLimit());
  }

  @Test
  void aLimitThatIsReplacedDoesNotApplyNorCount() {
    String user = fresh();
    RateLimitResponse both = ask(a, "edge", descriptor("key_1", "value_1", "user", user), descriptor("key_2", "value_2", "user", user));
    assertFalse(both.getStatuses(0).hasCurrentLimit(), "specific_limit is replaced");
    assertEquals(10, both.getStatuses(1).getCurrentLimit().getRequestsPerUnit());
    RateLimitResponse alone = ask(a, "edge", descriptor("key_1", "value_1", "user", user));
    assertEquals(4, alone.getStatuses(0).getLimitRemaining(), "the replaced limit's bucket was not touched");
  }

  @Test
  void unlimitedShadowAndUnknownDomains() {
    RateLimitResponse unlimited = ask(a, "edge", descriptor("internal", "ldap"));
    assertEquals(Code.OK, unlimited.getOverallCode());
    assertEquals(0xFFFF_FFFFL, Integer.toUnsignedLong(unlimited.getStatuses(0).getLimitRemaining()));
    assertFalse(unlimited.getStatuses(0).hasCurrentLimit());

    RateLimitDescriptor trial = descriptor("trial", fresh());
    assertEquals(Code.OK, ask(a, "edge", trial).getOverallCode());
    RateLimitResponse shadowed = ask(a, "edge", trial);
    assertEquals(Code.OK, shadowed.getOverallCode(), "shadow_mode: over the limit, answered OK");
    assertThat(a.sluice().metrics().scrape()).contains("sluice_shadow_would_block_total{decision=\"DENY\",rule=\"envoy:edge.trial\"}");

    RateLimitResponse unknown = ask(a, "no-such-domain", descriptor("remote_address", "1.2.3.4"));
    assertEquals(Code.OK, unknown.getOverallCode());
    assertFalse(unknown.getStatuses(0).hasCurrentLimit());
  }

  @Test
  void hitsAddendAndDescriptorLimitOverrides() {
    RateLimitDescriptor ip = descriptor("remote_address", "10.2." + fresh());
    RateLimitResponse three = a.await(a.client().shouldRateLimit(RateLimitRequest.newBuilder().setDomain("edge").addDescriptors(ip)
        .setHitsAddend(3).build()));
    assertEquals(Code.OK, three.getOverallCode());
    assertEquals(0, three.getStatuses(0).getLimitRemaining());
    RateLimitDescriptor look = ip.toBuilder().setHitsAddend(com.google.protobuf.UInt64Value.of(0)).build();
    assertEquals(0, ask(a, "edge", look).getStatuses(0).getLimitRemaining(), "hits_addend 0 looks without taking");
    assertEquals(Code.OVER_LIMIT, ask(a, "edge", ip).getOverallCode());

    RateLimitDescriptor overridden = descriptor("anything", fresh()).toBuilder()
        .setLimit(RateLimitDescriptor.RateLimitOverride.newBuilder().setRequestsPerUnit(1)
            .setUnit(io.envoyproxy.envoy.type.v3.RateLimitUnit.HOUR))
        .build();
    RateLimitResponse first = ask(a, "edge", overridden);
    assertEquals(Code.OK, first.getOverallCode());
    assertEquals(RateLimitResponse.RateLimit.Unit.HOUR, first.getStatuses(0).getCurrentLimit().getUnit());
    assertEquals(Code.OVER_LIMIT, ask(b, "edge", overridden).getOverallCode());
  }

  @Test
  void aDescriptorRuleCanBanARepeatOffender() {
    RateLimitDescriptor client = descriptor("client", "203.0.113." + fresh());
    assertEquals(Code.OK, ask(a, "edge", client).getOverallCode());
    assertEquals(Code.OVER_LIMIT, ask(a, "edge", client).getOverallCode());
    RateLimitResponse banned = ask(b, "edge", client);
    assertEquals(Code.OVER_LIMIT, banned.getOverallCode());
    assertThat(banned.getStatuses(0).getDurationUntilReset().getSeconds()).as("the ban's remaining time").isBetween(59L, 60L);
    assertThat(a.await(a.client().listBans("")).getBansList()).anySatisfy(ban ->
        assertThat(ban.getUserId()).contains(client.getEntries(0).getValue()));
  }

  @Test
  void theHeadersDescribeTheDescriptorClosestToItsLimit() {
    RateLimitResponse response = ask(a, "edge", descriptor("remote_address", "10.3." + fresh()), descriptor("path", "/api/" + fresh()));
    assertThat(response.getResponseHeadersToAddList()).extracting(HeaderValue::getKey, HeaderValue::getValue)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("RateLimit-Limit", "2"), org.assertj.core.groups.Tuple.tuple("RateLimit-Remaining", "1"),
            org.assertj.core.groups.Tuple.tuple("RateLimit-Reset", "30"));
  }

  @Test
  void twoInstancesUnderABurstAllowExactlyTheLimit() throws Exception {
    RateLimitDescriptor ip = descriptor("remote_address", "10.4." + fresh());
    List<Future<RateLimitResponse>> answers = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      SluiceFixture instance = i % 2 == 0 ? a : b;
      answers.add(instance.client().shouldRateLimit(RateLimitRequest.newBuilder().setDomain("edge").addDescriptors(ip).build()));
    }
    Future.all(answers).await(30, TimeUnit.SECONDS);
    assertEquals(3, answers.stream().filter(answer -> answer.result().getOverallCode() == Code.OK).count());
  }

  @Test
  void badRequestsAreRefusedNamingTheField() {
    CallFailedException noDomain = assertThrows(CallFailedException.class, () -> ask(a, "", descriptor("k", "v")));
    assertEquals(GrpcStatus.INVALID_ARGUMENT, noDomain.status());
    assertThat(noDomain.getMessage()).contains("domain must not be empty");
    assertThat(assertThrows(CallFailedException.class, () -> ask(a, "edge")).getMessage())
        .contains("descriptors must hold 1 to 100 descriptors, was 0");
    assertThat(assertThrows(CallFailedException.class, () -> ask(a, "edge", descriptor("", "v"))).getMessage())
        .contains("descriptors[0].entries[0].key must not be empty");
  }

  @Test
  void aRuleSetWithAnErrorIsRefusedWholeAndTheRunningOneStays() throws Exception {
    Path dir = Files.createTempDirectory("envoy-reload");
    Files.writeString(dir.resolve("edge.yaml"), RULES);
    try (SluiceFixture sluice = SluiceFixture.start(a.sluice().settings().redis().uri(), LIMITS,
        new JsonObject().put("envoyRules", dir.toString()).put("limitsScanMs", 50))) {
      Files.writeString(dir.resolve("edge.yaml"), RULES.replace("rate_limit: {unit: minute, requests_per_unit: 3}",
          "rate_limit: {unit: minute, requests_per_unit: 7}"));
      Await.until("the edited rule", Duration.ofSeconds(5),
          () -> ask(sluice, "edge", descriptor("remote_address", fresh())).getStatuses(0).getCurrentLimit().getRequestsPerUnit() == 7);

      Files.writeString(dir.resolve("other.yaml"), "domain: other\ndescriptors:\n  - key: k\n    rate_limit: {unit: hourly, requests_per_unit: 1}\n");
      Await.until("the refusal", Duration.ofSeconds(5), () -> adminEnvoy(sluice).containsKey("lastRejection"));
      JsonObject status = adminEnvoy(sluice);
      assertThat(status.getJsonObject("lastRejection").getString("reason"))
          .contains("other.yaml: descriptors[0].rate_limit.unit must be one of second, minute, hour, day, week, month, year, was 'hourly'");
      assertEquals(7, ask(sluice, "edge", descriptor("remote_address", fresh())).getStatuses(0).getCurrentLimit().getRequestsPerUnit(),
          "the running rules stay");
      assertThat(sluice.sluice().metrics().scrape()).contains("sluice_envoy_rules_reloads_total{result=\"rejected\"} 1.0");
      assertFalse(status.getJsonObject("lastRejection").getBoolean("superseded"));
    }
  }

  @Test
  void aRefusedSetPutBackToTheSetInForceClearsTheRefusalAndSaysSo() throws Exception {
    Path dir = Files.createTempDirectory("envoy-valid-again");
    Files.writeString(dir.resolve("edge.yaml"), RULES);
    try (LogCapture logs = LogCapture.of(EnvoyRulesVerticle.class);
         SluiceFixture sluice = SluiceFixture.start(a.sluice().settings().redis().uri(), LIMITS,
        new JsonObject().put("envoyRules", dir.toString()).put("limitsScanMs", 50))) {
      Files.writeString(dir.resolve("other.yaml"), "domain: other\ndescriptors:\n  - key: k\n    rate_limit: {unit: hourly, requests_per_unit: 1}\n");
      Await.until("the refusal", Duration.ofSeconds(5), () -> adminEnvoy(sluice).containsKey("lastRejection"));
      assertFalse(adminEnvoy(sluice).getJsonObject("lastRejection").getBoolean("superseded"));

      // Back to the set in force: nothing new to apply, yet the refusal no longer describes the files.
      Files.delete(dir.resolve("other.yaml"));
      Await.until("the refusal to be cleared", Duration.ofSeconds(5),
          () -> adminEnvoy(sluice).getJsonObject("lastRejection").getBoolean("superseded"));
      assertEquals(1, adminEnvoy(sluice).getLong("applied"), "nothing was applied again");
      Await.until("the log to say so", Duration.ofSeconds(5), () -> logs.said("envoy rules from " + dir + " are valid again"));

      // The same mistake made again is news again.
      Files.writeString(dir.resolve("other.yaml"), "domain: other\ndescriptors:\n  - key: k\n    rate_limit: {unit: hourly, requests_per_unit: 1}\n");
      Await.until("the second refusal", Duration.ofSeconds(5), () -> adminEnvoy(sluice).getLong("rejected") == 2);
      assertFalse(adminEnvoy(sluice).getJsonObject("lastRejection").getBoolean("superseded"));
    }
  }

  @Test
  void aRulesFileAboveTheSizeCapIsRefusedUnreadAndTheRunningRulesStay() throws Exception {
    Path dir = Files.createTempDirectory("envoy-size-cap");
    Files.writeString(dir.resolve("edge.yaml"), RULES);
    try (SluiceFixture sluice = SluiceFixture.start(a.sluice().settings().redis().uri(), LIMITS,
        new JsonObject().put("envoyRules", dir.toString()).put("limitsScanMs", 50).put("maxLimitsFileBytes", 4096))) {
      // Valid rules, padded with a comment: only the size is wrong with them.
      Files.writeString(dir.resolve("edge.yaml"), RULES.replace("rate_limit: {unit: minute, requests_per_unit: 3}",
          "rate_limit: {unit: minute, requests_per_unit: 7}") + "#" + "x".repeat(8192) + "\n");
      Await.until("the refusal", Duration.ofSeconds(5), () -> adminEnvoy(sluice).containsKey("lastRejection"));
      assertThat(adminEnvoy(sluice).getJsonObject("lastRejection").getString("reason"))
          .contains("edge.yaml is ").contains("bytes, above maxLimitsFileBytes (4096): it was not read");
      assertEquals(3, ask(sluice, "edge", descriptor("remote_address", fresh())).getStatuses(0).getCurrentLimit().getRequestsPerUnit(),
          "the running rules stay");
    }
  }

  static JsonObject adminEnvoy(SluiceFixture sluice) {
    return new JsonObject(Http.body(java.net.URI.create("http://127.0.0.1:" + sluice.httpPort() + "/admin/envoy"),
        "Bearer " + SluiceFixture.ADMIN_TOKEN));
  }
}
