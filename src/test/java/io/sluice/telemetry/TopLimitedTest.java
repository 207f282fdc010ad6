package io.sluice.telemetry;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The most refused users: bounded whatever the flood, the one who keeps being refused on top, forgotten as minutes pass. */
class TopLimitedTest {

  @Test
  void aUserRefusedAgainAndAgainStaysOnTopOfAFloodOfOthersAndFadesAfterwards() {
    TopLimited top = new TopLimited();
    for (int i = 0; i < 100_000; i++) {
      top.refused(TopLimited.Kind.LIMITED, "login", "flood-" + i);
      if (i % 10 == 0) {
        top.refused(TopLimited.Kind.LIMITED, "login", "mallory");
      }
    }
    assertThat(top.top(TopLimited.Kind.LIMITED, 1000)).hasSize(TopLimited.CAPACITY);
    JsonObject first = top.top(TopLimited.Kind.LIMITED, 1).getJsonObject(0);
    assertEquals("mallory", first.getString("user"));
    assertThat(first.getLong("refusals")).as("about the 10,000 refusals, sampled").isBetween(8_000L, 12_000L);
    assertThat(top.top(TopLimited.Kind.SHADOW, 10)).as("kept apart").isEmpty();
    for (int minute = 0; minute < 40; minute++) {
      top.decay();
    }
    assertThat(top.top(TopLimited.Kind.LIMITED, 10)).as("forgotten").isEmpty();
  }
}
