package io.sluice.limits;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LimitsOverlayTest {

  private static final JsonObject FILE = new JsonObject("""
      { "rules": { "default": {"capacity": 1, "refillPerSecond": 1}, "login": {"capacity": 2, "refillPerSecond": 1} },
        "allowlist": ["a"] }
      """);

  @Test
  void namedRulesReplaceThoseRulesOnly() {
    JsonObject overlay = LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"rules\": {\"login\": {\"capacity\": 9, \"refillPerSecond\": 1}}}"), "t");
    JsonObject effective = LimitsOverlay.apply(FILE, overlay);
    assertEquals(9, effective.getJsonObject("rules").getJsonObject("login").getInteger("capacity"));
    assertEquals(1, effective.getJsonObject("rules").getJsonObject("default").getInteger("capacity"));
    assertEquals(FILE.getJsonArray("allowlist"), effective.getJsonArray("allowlist"));
  }

  @Test
  void nullRemovesARuleEvenOneThatOnlyTheFileHas() {
    JsonObject overlay = LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"rules\": {\"login\": null}}"), "t");
    assertFalse(LimitsOverlay.apply(FILE, overlay).getJsonObject("rules").containsKey("login"));
  }

  @Test
  void mergingTheSameMessageTwiceChangesNothingMore() {
    JsonObject message = new JsonObject("{\"rules\": {\"x\": {\"capacity\": 3, \"refillPerSecond\": 1}, \"login\": null}, \"denylist\": [\"m\"]}");
    JsonObject once = LimitsOverlay.merge(new JsonObject(), message, "t");
    assertEquals(once, LimitsOverlay.merge(once, message, "t"));
  }

  @Test
  void laterMessagesWinForTheRulesTheyName() {
    JsonObject first = LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"rules\": {\"x\": {\"capacity\": 3, \"refillPerSecond\": 1}}}"), "t");
    JsonObject second = LimitsOverlay.merge(first, new JsonObject("{\"rules\": {\"x\": {\"capacity\": 4, \"refillPerSecond\": 1}}}"), "t");
    assertEquals(4, LimitsOverlay.apply(FILE, second).getJsonObject("rules").getJsonObject("x").getInteger("capacity"));
  }

  @Test
  void replaceIgnoresTheFileAndResetRestoresIt() {
    JsonObject replaced = LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"replace\": true, \"rules\": {\"default\": {\"capacity\": 5, \"refillPerSecond\": 1}}}"), "t");
    assertEquals(1, LimitsOverlay.apply(FILE, replaced).getJsonObject("rules").size());
    JsonObject reset = LimitsOverlay.merge(replaced, new JsonObject("{\"reset\": true}"), "t");
    assertEquals(FILE, LimitsOverlay.apply(FILE, reset));
    assertEquals(new JsonObject(), reset, "a reset alone leaves no overlay at all");
  }

  @Test
  void aResetWithChangesIsExactlyThoseChangesWhateverWasStored() {
    // A rollback: whatever the fleet had, it ends with the stored version's overlay and nothing else.
    JsonObject wanted = LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"rules\": {\"x\": {\"capacity\": 3, \"refillPerSecond\": 1}}}"), "t");
    JsonObject later = LimitsOverlay.merge(wanted, new JsonObject("{\"rules\": {\"y\": {\"capacity\": 4, \"refillPerSecond\": 1}}, "
        + "\"allowlist\": [\"z\"]}"), "t");
    JsonObject back = LimitsOverlay.merge(later, wanted.copy().put("reset", true), "t");
    assertEquals(wanted, back);
    JsonObject replacedBack = LimitsOverlay.merge(later, new JsonObject("{\"replace\": true, \"reset\": true, \"rules\": {\"default\": "
        + "{\"capacity\": 5, \"refillPerSecond\": 1}}}"), "t");
    assertEquals(1, LimitsOverlay.apply(FILE, replacedBack).getJsonObject("rules").size());
  }

  @Test
  void namedTiersReplaceThoseTiersWholeAndNullRemovesOne() {
    JsonObject file = FILE.copy().put("tiers", new JsonObject("{\"gold\": {\"login\": {\"capacity\": 5}}, \"free\": {}}"));
    JsonObject overlay = LimitsOverlay.merge(new JsonObject(),
        new JsonObject("{\"tiers\": {\"gold\": {\"default\": {\"capacity\": 7}}, \"free\": null}}"), "t");
    JsonObject effective = LimitsOverlay.apply(file, overlay);
    assertEquals(new JsonObject("{\"gold\": {\"default\": {\"capacity\": 7}}}"), effective.getJsonObject("tiers"),
        "gold replaced whole (its login override gone), free removed");
    assertEquals(overlay, LimitsOverlay.merge(overlay, new JsonObject("{\"tiers\": {\"free\": null}}"), "t"), "idempotent");
    Limits limits = LimitsParser.parse(effective, "t", 1);
    assertEquals(7, limits.ruleFor("anything", "gold").capacity());
    assertEquals(java.util.Set.of("gold"), limits.tiers().keySet());

    JsonObject lastTierRemoved = LimitsOverlay.merge(overlay, new JsonObject("{\"tiers\": {\"gold\": null}}"), "t");
    assertFalse(LimitsOverlay.apply(file, lastTierRemoved).containsKey("tiers"));
    JsonObject replaced = LimitsOverlay.merge(overlay, new JsonObject("{\"replace\": true, \"rules\": {\"default\": {\"capacity\": 5, \"refillPerSecond\": 1}}}"), "t");
    assertFalse(LimitsOverlay.apply(file, replaced).containsKey("tiers"), "a replace is the whole set: the file's tiers too");
    assertThrows(InvalidLimitsException.class, () -> LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"tiers\": []}"), "t"));
  }

  @Test
  void rejectsUnknownFieldsAndWrongShapes() {
    assertThrows(InvalidLimitsException.class, () -> LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"rulez\": {}}"), "t"));
    assertThrows(InvalidLimitsException.class, () -> LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"rules\": []}"), "t"));
    assertThrows(InvalidLimitsException.class, () -> LimitsOverlay.merge(new JsonObject(), new JsonObject("{\"reset\": \"yes\"}"), "t"));
  }
}
