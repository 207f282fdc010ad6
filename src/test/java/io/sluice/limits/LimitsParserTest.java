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
  void whatALogOrAuditLineShowsOfACallersTextCannotBeReorderedOrForged() {
    // A right-to-left override would show "user=mallory ok" as something else; a newline would start a forged line.
    assertEquals("mallory\\u202e\\u2066ko\\u2069\\u200b\\u000a", LimitsParser.printable("mallory\u202e\u2066ko\u2069\u200b\n"));
    assertEquals("caf\u00e9 \u65e5\u672c", LimitsParser.printable("caf\u00e9 \u65e5\u672c"), "letters of any script stay as they are");
    assertEquals("flag\\U000e0067\\ud800 \ud83d\ude00", LimitsParser.printable("flag\udb40\udc67\ud800 \ud83d\ude00"),
        "a tag beyond the first plane and a lone surrogate are escaped; an emoji is a character");
  }

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

  @Test
  void readsAQuotaAndRefusesOneThatIsNotACalendarPeriodOrZoneNamingTheField() {
    Rule monthly = LimitsParser.parse(VALID.replace("\"refillPerSecond\": 0.2",
        "\"refillPerSecond\": 0.2, \"quota\": {\"limit\": 1000, \"period\": \"month\", \"timezone\": \"Europe/Berlin\"}"), "test", 1)
        .ruleFor("login");
    assertEquals(new QuotaPolicy(1000, QuotaPolicy.Period.MONTH, java.time.ZoneId.of("Europe/Berlin"), false), monthly.quota());
    assertEquals(java.time.ZoneOffset.UTC, LimitsParser.parse(VALID.replace("\"refillPerSecond\": 0.2",
        "\"refillPerSecond\": 0.2, \"quota\": {\"limit\": 1, \"period\": \"day\"}"), "test", 1).ruleFor("login").quota().zone(),
        "UTC unless the rule names a zone");
    assertThat(rejected(withQuota("{\"limit\": 0, \"period\": \"day\"}")).problems())
        .containsExactly("rules.login.quota.limit must be a whole number from 1 to 1000000000000, was 0");
    assertThat(rejected(withQuota("{\"limit\": 5, \"period\": \"year\"}")).problems())
        .containsExactly("rules.login.quota.period must be \"day\", \"week\" or \"month\", was \"year\"");
    assertThat(rejected(withQuota("{\"limit\": 5, \"period\": \"day\", \"timezone\": \"Mars/Olympus\"}")).problems())
        .containsExactly("rules.login.quota.timezone must be an IANA time zone such as \"Europe/Berlin\" or \"UTC\", was \"Mars/Olympus\"");
    assertThat(rejected(withQuota("{\"limit\": 5, \"period\": \"day\", \"reset\": 1}")).problems())
        .anyMatch(p -> p.startsWith("rules.login.quota.reset is not a known field"));
    assertThat(rejected(withQuota("100")).problems()).anyMatch(p -> p.startsWith("rules.login.quota must be an object"));
  }

  @Test
  void refusesAConcurrencyLimitOutOfRangeNamingTheField() {
    assertThat(rejected(VALID.replace("\"refillPerSecond\": 0.2", "\"refillPerSecond\": 0.2, \"concurrency\": {\"maxInFlight\": 0, \"leaseSeconds\": 30}"))
        .problems()).containsExactly("rules.login.concurrency.maxInFlight must be a whole number from 1 to " + ConcurrencyPolicy.MAX_IN_FLIGHT
        + ", was 0");
    assertThat(rejected(VALID.replace("\"refillPerSecond\": 0.2", "\"refillPerSecond\": 0.2, \"concurrency\": {\"maxInFlight\": 2, \"leaseSeconds\": 86401}"))
        .problems()).containsExactly("rules.login.concurrency.leaseSeconds must be a whole number from 1 to 86400, was 86401");
    assertThat(rejected(VALID.replace("\"refillPerSecond\": 0.2", "\"refillPerSecond\": 0.2, \"concurrency\": {\"maxInFlight\": 1.5}"))
        .problems()).anyMatch(p -> p.startsWith("rules.login.concurrency.maxInFlight must be a whole number"))
        .anyMatch(p -> p.startsWith("rules.login.concurrency.leaseSeconds must be a whole number"));
  }

  private static String withQuota(String quota) {
    return VALID.replace("\"refillPerSecond\": 0.2", "\"refillPerSecond\": 0.2, \"quota\": " + quota);
  }

  private static InvalidLimitsException rejected(String json) {
    return assertThrows(InvalidLimitsException.class, () -> LimitsParser.parse(json, "test", 1));
  }
}
