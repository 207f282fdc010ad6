package io.sluice.limits;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LimitsParserTest {

  private static final String VALID = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 10 },
          "login":   { "capacity": 5, "refillPerSecond": 0.2 } } }
      """;

  @Test
  void parsesRulesByAction() {
    Limits limits = LimitsParser.parse(VALID, "test", 7);
    assertEquals(new Rule("login", 5, 0.2), limits.ruleFor("login"));
    assertEquals(7, limits.version());
    assertEquals("test", limits.source());
  }

  @Test
  void actionWithoutRuleIsGovernedByDefault() {
    Limits limits = LimitsParser.parse(VALID, "test", 1);
    assertEquals("default", limits.ruleFor("search").name());
    assertEquals(100, limits.ruleFor("search").capacity());
  }

  @Test
  void rejectsNegativeCapacityNamingFieldAndValue() {
    InvalidLimitsException e = rejected(VALID.replace("\"capacity\": 5", "\"capacity\": -5"));
    assertEquals(java.util.List.of("rules.login.capacity must be a whole number from 1 to 1000000000, was -5"), e.problems());
  }

  @Test
  void rejectsZeroOrNegativeRefill() {
    assertTrue(rejected(VALID.replace("0.2", "0")).getMessage().contains("rules.login.refillPerSecond must be a number > 0"));
    assertTrue(rejected(VALID.replace("0.2", "-1")).getMessage().contains("was -1"));
  }

  @Test
  void rejectsFractionalCapacity() {
    assertTrue(rejected(VALID.replace("\"capacity\": 5", "\"capacity\": 5.5")).getMessage().contains("rules.login.capacity"));
  }

  @Test
  void rejectsWrongTypes() {
    assertTrue(rejected(VALID.replace("\"capacity\": 5", "\"capacity\": \"5\"")).getMessage()
        .contains("rules.login.capacity must be a whole number from 1 to 1000000000, was \"5\""));
    assertTrue(rejected("{\"rules\": []}").getMessage().contains("rules must be an object"));
  }

  @Test
  void rejectsUnknownFieldsAsLikelyTypos() {
    InvalidLimitsException e = rejected(VALID.replace("\"refillPerSecond\": 0.2", "\"refillPerSecond\": 0.2, \"capcity\": 3"));
    assertThat(e.problems()).anyMatch(p -> p.startsWith("rules.login.capcity is not a known field"));
  }

  @Test
  void requiresDefaultRule() {
    InvalidLimitsException e = rejected("{ \"rules\": { \"login\": { \"capacity\": 5, \"refillPerSecond\": 1 } } }");
    assertThat(e.problems()).anyMatch(p -> p.startsWith("rules.default is required"));
  }

  @Test
  void rejectsMalformedJsonNamingLineAndColumnInTheReadersTerms() {
    assertThat(rejected("{ \"rules\": ").getMessage()).contains("not valid JSON at line 1, column");
    String missingComma = """
        { "rules": {
            "default": { "capacity": 10, "refillPerSecond": 1 },
            "login": { "capacity": 5 "refillPerSecond": 1 }
        } }
        """;
    assertThat(rejected(missingComma).getMessage())
        .contains("not valid JSON at line 3, column 30: Unexpected character")
        .doesNotContain("REDACTED", "StreamReadFeature", "Failed to decode");
  }

  @Test
  void reportsEveryProblemAtOnce() {
    InvalidLimitsException e = rejected("""
        { "rules": { "default": { "capacity": 0, "refillPerSecond": -1 } } }
        """);
    assertEquals(2, e.problems().size());
  }

  private static InvalidLimitsException rejected(String json) {
    return assertThrows(InvalidLimitsException.class, () -> LimitsParser.parse(json, "test", 1));
  }
}
