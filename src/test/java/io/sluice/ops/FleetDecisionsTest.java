package io.sluice.ops;

import io.sluice.support.Await;
import io.sluice.support.Http;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The console's decisions of the whole fleet: what every instance decided, read on any one of them. */
@ExtendWith(RedisExtension.class)
class FleetDecisionsTest {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 100, "refillPerSecond": 10 }, "fleetwide": { "capacity": 4, "refillPerSecond": 0.001 } } }
      """;

  /** Each heartbeat brings an instance's totals: at the default pace, not the fixture's quiet one. */
  private static final JsonObject BEATING = new JsonObject().put("heartbeatMs", 1000);

  @Test
  void theFleetsDecisionsAreEveryInstancesSummedAndItsMostRefusedTheirsMerged() throws Exception {
    // A Redis of its own: the fleet is these two instances only.
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS, BEATING);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS, BEATING)) {
      URI fleet = URI.create("http://127.0.0.1:" + a.httpPort() + "/admin/decisions?scope=fleet");
      String bearer = "Bearer " + SluiceFixture.ADMIN_TOKEN;
      // The first look starts the sampling: the charts begin then.
      Await.until("both instances reporting", Duration.ofSeconds(10),
          () -> new JsonObject(Http.body(fleet, bearer)).getInteger("instances") == 2);
      String caller = "fleetwide-" + UUID.randomUUID();
      for (int i = 0; i < 6; i++) {
        a.check(caller, "fleetwide");
        b.check(caller, "fleetwide");
      }
      // 4 allowed and 8 denied in all, wherever they were decided.
      Await.until("the fleet's 4 allowed and 8 denied", Duration.ofSeconds(10),
          () -> sum(new JsonObject(Http.body(fleet, bearer)), "allowed") == 4 && sum(new JsonObject(Http.body(fleet, bearer)), "denied") == 8);
      for (int i = 0; i < 40; i++) {
        b.check(caller, "fleetwide");
      }
      Await.until("the caller among the fleet's most refused", Duration.ofSeconds(10),
          () -> Http.body(fleet, bearer).contains(caller));
      JsonObject answer = new JsonObject(Http.body(fleet, bearer));
      assertEquals("fleet", answer.getString("scope"));
      assertThat(answer.getJsonArray("topLimited").getJsonObject(0).getString("user")).isEqualTo(caller);

      // This instance's own decisions are half of them; a scope that is neither is refused, naming the field.
      JsonObject own = new JsonObject(Http.body(URI.create("http://127.0.0.1:" + a.httpPort() + "/admin/decisions"), bearer));
      assertEquals("instance", own.getString("scope"));
      assertThat(sum(own, "allowed") + sum(own, "denied")).isEqualTo(6);
      String refused = Http.body(URI.create("http://127.0.0.1:" + a.httpPort() + "/admin/decisions?scope=everyone"), bearer);
      assertThat(refused).contains("\"field\":\"scope\"");
      assertEquals(401, Http.status(fleet));
      // The fleet page does not carry what the statuses hold for this one.
      assertThat(Http.body(URI.create("http://127.0.0.1:" + a.httpPort() + "/admin/fleet"), bearer)).doesNotContain("topLimited");
    }
  }

  private static int sum(JsonObject answer, String series) {
    JsonObject rule = answer.getJsonObject("rules").getJsonObject("fleetwide");
    if (rule == null) {
      return 0;
    }
    JsonArray values = rule.getJsonArray(series);
    int sum = 0;
    for (int i = 0; i < values.size(); i++) {
      sum += values.getInteger(i);
    }
    return sum;
  }
}
