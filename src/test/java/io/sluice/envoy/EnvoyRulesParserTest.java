package io.sluice.envoy;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.sluice.limits.InvalidLimitsException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class EnvoyRulesParserTest {

  private static EnvoyRules parse(String yaml) {
    return EnvoyRulesParser.parse(Map.of("rules.yaml", yaml), "test", EnvoyRulesParser.Algorithm.TOKEN_BUCKET);
  }

  private static RateLimitDescriptor descriptor(String... keyValues) {
    RateLimitDescriptor.Builder descriptor = RateLimitDescriptor.newBuilder();
    for (int i = 0; i < keyValues.length; i += 2) {
      descriptor.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(keyValues[i]).setValue(keyValues[i + 1]));
    }
    return descriptor.build();
  }

  @Test
  void theMostSpecificMatchWinsAndTheDepthMustBeTheRequests() {
    EnvoyRules rules = parse("""
        domain: edge
        descriptors:
          - key: remote_address
            rate_limit: {unit: second, requests_per_unit: 10}
          - key: remote_address
            value: 50.0.0.5
            rate_limit: {unit: second, requests_per_unit: 0}
          - key: message_type
            value: marketing
            descriptors:
              - key: to_number
                rate_limit: {unit: day, requests_per_unit: 5}
        """);
    assertEquals(10, rules.match("edge", descriptor("remote_address", "50.0.0.1")).limit().requestsPerUnit());
    assertEquals(0, rules.match("edge", descriptor("remote_address", "50.0.0.5")).limit().requestsPerUnit());
    assertEquals(5, rules.match("edge", descriptor("message_type", "marketing", "to_number", "2061111111")).limit().requestsPerUnit());
    assertNull(rules.match("edge", descriptor("message_type", "marketing")), "a node without a limit");
    assertNull(rules.match("edge", descriptor("remote_address", "50.0.0.1", "extra", "x")), "deeper than the rules");
    assertNull(rules.match("other", descriptor("remote_address", "50.0.0.1")), "an unknown domain");
  }

  @Test
  void wildcardsMatchAnywhereAndSharedThresholdsShareTheSubject() {
    EnvoyRules rules = parse("""
        domain: w
        descriptors:
          - key: path
            value: /api/*/action
            rate_limit: {unit: minute, requests_per_unit: 20}
          - key: files
            value: files/*
            share_threshold: true
            rate_limit: {unit: hour, requests_per_unit: 10}
        """);
    assertThat(rules.match("w", descriptor("path", "/api/123/action"))).isNotNull();
    assertNull(rules.match("w", descriptor("path", "/api/123/other")));
    EnvoyRules.Match a = rules.match("w", descriptor("files", "files/a.pdf"));
    EnvoyRules.Match b = rules.match("w", descriptor("files", "files/b.csv"));
    assertEquals(a.subject(), b.subject());
    assertThat(rules.match("w", descriptor("path", "/api/1/action")).subject())
        .isNotEqualTo(rules.match("w", descriptor("path", "/api/2/action")).subject());
  }

  @Test
  void subjectsCannotPassForEachOther() {
    assertThat(EnvoyRules.subject("d", descriptor("a", "b/c=d"), null)).isNotEqualTo(EnvoyRules.subject("d", descriptor("a", "b", "c", "d"), null));
    assertThat(EnvoyRules.subject("d", descriptor("a", "line\nbreak"), null)).doesNotContain("\n");
    assertThat(EnvoyRules.subject("d", descriptor("a", "x".repeat(2000)), null)).hasSizeLessThan(100).startsWith("d/sha256:");
  }

  @Test
  void aSetWithAnyProblemIsRefusedNamingTheFilePathAndField() {
    assertThatThrownBy(() -> parse("""
        domain: edge
        descriptors:
          - key: remote_address
            rate_limit: {unit: fortnight, requests_per_unit: 10}
          - key: remote_address
            rate_limit: {unit: second, requests_per_unit: 1}
          - key: x
            rate_limit: {unit: second}
          - key: y
            rate_limit: {unlimited: true, unit: second}
          - key: z
            rate_limit: {unit: second, requests_per_unit: 1, name: n, replaces: [{name: n}]}
          - key: w
            share_threshold: true
            rate_limit: {unit: second, requests_per_unit: 1}
          - key: q
            quota_mode: true
            typo: 1
        """))
        .isInstanceOf(InvalidLimitsException.class)
        .hasMessageContaining("rules.yaml: descriptors[0].rate_limit.unit must be one of second, minute, hour, day, week, month, year, was 'fortnight'")
        .hasMessageContaining("rules.yaml: descriptors[1] duplicates the descriptor 'remote_address' of the same list")
        .hasMessageContaining("rules.yaml: descriptors[2].rate_limit.requests_per_unit must be a whole number from 0 to 4294967295, was missing")
        .hasMessageContaining("rules.yaml: descriptors[3].rate_limit.unit must not be set when unlimited is true")
        .hasMessageContaining("rules.yaml: descriptors[4].rate_limit.replaces[0].name must not be the limit's own name")
        .hasMessageContaining("rules.yaml: descriptors[5].share_threshold needs a value with a wildcard (*)")
        .hasMessageContaining("rules.yaml: descriptors[6].quota_mode is not supported by Sluice")
        .hasMessageContaining("rules.yaml: descriptors[6].typo is not a known field");
  }

  @Test
  void domainsAreUniqueAcrossFilesAndAbuseNeedsTheTokenBucket() {
    assertThatThrownBy(() -> EnvoyRulesParser.parse(Map.of("a.yaml", "domain: d\n", "b.yaml", "domain: d\n"), "test",
        EnvoyRulesParser.Algorithm.TOKEN_BUCKET))
        .hasMessageContaining("b.yaml: domain 'd' is already defined in a.yaml");
    String abuse = """
        domain: d
        descriptors:
          - key: client
            rate_limit: {unit: minute, requests_per_unit: 1, abuse: {maxViolations: 0}}
        """;
    assertThatThrownBy(() -> parse(abuse)).hasMessageContaining("descriptors[0].rate_limit.abuse.maxViolations must be a whole number from 1");
    assertThatThrownBy(() -> EnvoyRulesParser.parse(Map.of("r.yaml", abuse), "test", EnvoyRulesParser.Algorithm.FIXED_WINDOW))
        .hasMessageContaining("descriptors[0].rate_limit.abuse needs envoyAlgorithm token_bucket");
    assertThatThrownBy(() -> parse("domain: [x\n")).hasMessageContaining("rules.yaml: is not valid YAML");
  }

  @Test
  void scalarsAreReadAsEnvoyproxyRatelimitReadsThem() {
    EnvoyRules rules = parse("""
        domain: d
        descriptors:
          - key: database
            value: 500
            shadow_mode: yes
            rate_limit: {unit: SECOND, requests_per_unit: "7"}
        """);
    EnvoyRules.Limit limit = rules.match("d", descriptor("database", "500")).limit();
    assertEquals(7, limit.requestsPerUnit());
    assertEquals(EnvoyRules.Unit.SECOND, limit.unit());
    assertThat(limit.shadow()).isTrue();
  }
}
