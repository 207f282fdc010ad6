package io.sluice.deploy;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The alerts and recording rules of deploy/prometheus, as Prometheus's own tool reads them: valid,
 * passing their unit tests, and each alert with its runbook section in docs/operations.md.
 */
class PrometheusRulesTest {

  static final Path PROMTOOL = Path.of("/usr/bin/promtool");
  static final Path RULES = Path.of("deploy/prometheus/sluice-rules.yml");

  @Test
  void everyAlertHasARunbookSectionAndItsLinkFindsIt() throws Exception {
    String rules = Files.readString(RULES);
    String runbook = Files.readString(Path.of("docs/operations.md"));
    List<String> alerts = new ArrayList<>();
    Matcher alert = Pattern.compile("- alert: (\\w+)").matcher(rules);
    while (alert.find()) {
      alerts.add(alert.group(1));
    }
    assertThat(alerts).hasSizeGreaterThanOrEqualTo(10);
    for (String name : alerts) {
      assertThat(runbook).as("a runbook section for " + name).contains("\n### " + name + "\n");
      assertThat(rules).as("the runbook link of " + name).contains("runbook: \"docs/operations.md#" + name.toLowerCase(Locale.ROOT) + "\"");
    }
    assertEquals(alerts.size(), Pattern.compile("runbook: ").matcher(rules).results().count(), "one runbook link per alert");
  }

  @Test
  void promtoolFindsTheRulesValidAndTheirTestsPass() throws Exception {
    boolean present = Files.isExecutable(PROMTOOL);
    if (!present) {
      System.out.println("PrometheusRulesTest skipped: no " + PROMTOOL + " (apt-get install prometheus)");
    }
    Assumptions.assumeTrue(present, "no " + PROMTOOL + ": apt-get install prometheus");
    assertThat(run("check", "rules", RULES.toString())).contains("SUCCESS");
    assertThat(run("check", "config", "deploy/prometheus/prometheus.yml")).contains("SUCCESS");
    assertThat(run("test", "rules", "deploy/prometheus/sluice-rules.test.yml")).contains("SUCCESS");
  }

  private static String run(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(PROMTOOL.toString()));
    command.addAll(List.of(args));
    // Its output to a file, so that a promtool that never ends cannot hold the test past the wait.
    Path output = Files.createTempFile("promtool", ".out");
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(String.join(" ", command) + " did not end");
      }
      String out = Files.readString(output);
      assertEquals(0, process.exitValue(), String.join(" ", command) + ":\n" + out);
      return out;
    } finally {
      Files.deleteIfExists(output);
    }
  }
}
