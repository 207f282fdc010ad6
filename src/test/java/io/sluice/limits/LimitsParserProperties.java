package io.sluice.limits;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.util.List;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The limits parser, fuzzed: random documents, valid ones, and valid ones broken in one place.
 * Whatever comes in, a document is applied whole or refused whole with a message naming what is
 * wrong, and nothing else ever comes out (no other exception, no partial result).
 */
class LimitsParserProperties {

  private static final List<String> FIELDS = List.of("rules", "default", "login", "capacity", "refillPerSecond", "abuse",
      "maxViolations", "windowSeconds", "banSeconds", "banMultiplier", "maxBanSeconds", "historySeconds", "scope", "shadow",
      "adaptive", "failureMode", "allowlist", "denylist", "replace", "reset");

  @Property
  void anyDocumentIsAppliedOrRefusedWholeWithAMessage(@ForAll("documents") Object document) {
    String json = document instanceof JsonObject object ? object.encode() : String.valueOf(document);
    assertAppliedOrRefused(() -> LimitsParser.parse(json, "fuzz", 1));
  }

  @Property
  void anyBytesAreAppliedOrRefusedWholeWithAMessage(@ForAll String text) {
    assertAppliedOrRefused(() -> LimitsParser.parse(text, "fuzz", 1));
  }

  @Property
  void aValidDocumentIsAppliedWholeAndReadsBackTheSame(@ForAll("validDocuments") JsonObject document) {
    Limits limits = LimitsParser.parse(document.encode(), "fuzz", 1);
    Limits again = LimitsParser.parse(LimitsParser.toJson(limits).encode(), "fuzz", 2);
    assertEquals(limits.digest(), again.digest(), "what operators are shown is what is enforced");
    assertEquals(document.getJsonObject("rules").size(), limits.rules().size());
  }

  @Property
  void aValidDocumentBrokenInOnePlaceIsAppliedOrRefusedWhole(@ForAll("validDocuments") JsonObject document,
                                                             @ForAll("mutations") Mutation mutation, @ForAll("values") Object value) {
    mutation.apply(document, value);
    assertAppliedOrRefused(() -> LimitsParser.parse(document.encode(), "fuzz", 1));
  }

  @Property
  void anyPublishedMessageMergedIntoAValidOverlayIsAppliedOrRefusedWhole(@ForAll("validDocuments") JsonObject file,
                                                                          @ForAll("documents") Object message) {
    if (!(message instanceof JsonObject published)) {
      return;
    }
    assertAppliedOrRefused(() -> LimitsParser.parse(
        LimitsOverlay.apply(file, LimitsOverlay.merge(new JsonObject(), published, "fuzz")), "fuzz", 1));
  }

  private static void assertAppliedOrRefused(Supplier<Limits> parse) {
    try {
      Limits limits = parse.get();
      assertThat(limits.rules()).containsKey(Limits.DEFAULT_RULE);
    } catch (InvalidLimitsException refused) {
      assertThat(refused.problems()).as("a refusal says why").isNotEmpty()
          .allSatisfy(problem -> assertThat(problem).isNotBlank().doesNotContain("\n"));
    }
  }

  @Provide
  Arbitrary<Object> documents() {
    return value(4).map(v -> v);
  }

  @Provide
  Arbitrary<Object> values() {
    return value(2);
  }

  private Arbitrary<Object> value(int depth) {
    Arbitrary<Object> scalar = Arbitraries.oneOf(
        Arbitraries.integers().map(i -> (Object) i),
        Arbitraries.longs().map(l -> (Object) l),
        Arbitraries.doubles().map(d -> (Object) d),
        Arbitraries.of(0, -1, 1, 1_000_000_000, 1_000_000_001L, Long.MAX_VALUE, 1e-300, 1e300, 0.2, 1e-12).map(n -> (Object) n),
        Arbitraries.strings().ofMaxLength(300).map(s -> (Object) s),
        Arbitraries.of("open", "closed", "local", "user", "action", "allow").map(s -> (Object) s),
        Arbitraries.of(true, false).map(b -> (Object) b),
        Arbitraries.just(null));
    if (depth == 0) {
      return scalar;
    }
    Arbitrary<Object> object = Combinators.combine(
            Arbitraries.oneOf(Arbitraries.of(FIELDS), Arbitraries.strings().ofMaxLength(20)).list().ofMaxSize(6),
            value(depth - 1).list().ofMaxSize(6))
        .as((keys, values) -> {
          JsonObject json = new JsonObject();
          for (int i = 0; i < Math.min(keys.size(), values.size()); i++) {
            json.put(keys.get(i), values.get(i));
          }
          return (Object) json;
        });
    Arbitrary<Object> array = value(depth - 1).list().ofMaxSize(4).map(list -> (Object) new JsonArray(list));
    return Arbitraries.frequencyOf(Tuple.of(3, scalar), Tuple.of(5, object), Tuple.of(1, array));
  }

  @Provide
  Arbitrary<JsonObject> validDocuments() {
    Arbitrary<JsonObject> rule = Combinators.combine(
        Arbitraries.longs().between(1, 1_000_000_000),
        Arbitraries.doubles().between(0.001, 1_000_000).ofScale(3),
        Arbitraries.of(true, false), Arbitraries.of(true, false),
        Arbitraries.of("", "open", "closed", "local"),
        abuse().injectNull(0.5))
        .as((capacity, refill, shadow, adaptive, mode, abuse) -> {
          JsonObject json = new JsonObject().put("capacity", capacity)
              .put("refillPerSecond", Math.max(refill, capacity / LimitsParser.MAX_REFILL_SECONDS * 1.01));
          if (shadow) {
            json.put("shadow", true);
          }
          if (adaptive) {
            json.put("adaptive", true);
          }
          if (!mode.isEmpty()) {
            json.put("failureMode", mode);
          }
          if (abuse != null) {
            json.put("abuse", abuse);
          }
          return json;
        });
    return Combinators.combine(rule, rule.list().ofMaxSize(4), Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(12).list()
            .ofMaxSize(4).uniqueElements())
        .as((defaultRule, others, names) -> {
          JsonObject rules = new JsonObject().put(Limits.DEFAULT_RULE, defaultRule);
          for (int i = 0; i < Math.min(others.size(), names.size()); i++) {
            rules.put("r-" + names.get(i), others.get(i));
          }
          return new JsonObject().put("rules", rules).put("allowlist", new JsonArray().add("ok-user"))
              .put("denylist", new JsonArray().add("bad-user"));
        });
  }

  private Arbitrary<JsonObject> abuse() {
    return Combinators.combine(Arbitraries.integers().between(1, LimitsParser.MAX_VIOLATIONS),
            Arbitraries.doubles().between(0.001, 86_400).ofScale(3), Arbitraries.doubles().between(0.001, 86_400).ofScale(3),
            Arbitraries.doubles().between(1, 1000).ofScale(2), Arbitraries.of("user", "action"))
        .as((max, window, ban, multiplier, scope) -> new JsonObject().put("maxViolations", max).put("windowSeconds", window)
            .put("banSeconds", ban).put("banMultiplier", multiplier).put("maxBanSeconds", ban * 10).put("scope", scope));
  }

  @Provide
  Arbitrary<Mutation> mutations() {
    return Arbitraries.of(Mutation.values());
  }

  /** One way to break a valid document: a field of the default rule, or the document's shape. */
  enum Mutation {
    SET_CAPACITY, SET_REFILL, SET_ABUSE, SET_MODE, SET_RULES, SET_LIST, REMOVE_DEFAULT, ADD_UNKNOWN_FIELD, SET_RULE;

    void apply(JsonObject document, Object value) {
      JsonObject defaultRule = document.getJsonObject("rules").getJsonObject(Limits.DEFAULT_RULE);
      switch (this) {
        case SET_CAPACITY -> defaultRule.put("capacity", value);
        case SET_REFILL -> defaultRule.put("refillPerSecond", value);
        case SET_ABUSE -> defaultRule.put("abuse", value);
        case SET_MODE -> defaultRule.put("failureMode", value);
        case SET_RULES -> document.put("rules", value);
        case SET_LIST -> document.put("allowlist", value);
        case REMOVE_DEFAULT -> document.getJsonObject("rules").remove(Limits.DEFAULT_RULE);
        case ADD_UNKNOWN_FIELD -> defaultRule.put("capcity", value);
        case SET_RULE -> document.getJsonObject("rules").put(String.valueOf(value), value);
      }
    }
  }
}
