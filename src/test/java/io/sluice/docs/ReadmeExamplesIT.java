package io.sluice.docs;

import io.sluice.support.Ports;
import io.sluice.support.Processes.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.sluice.support.Processes.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The README's examples, run as a reader runs them: in order, in one shell, against a fresh local
 * fleet started with {@code scripts/fleet.sh}, each compared with the output the README shows. So
 * the README cannot drift from the product. The fleet runs on free ports, with a copy of the limits
 * file and a run directory of its own; the README's ports and paths are mapped to those.
 */
class ReadmeExamplesIT {

  private static final String MARK = "<<<readme-example ";

  @Test
  void everyConsoleExampleOfTheReadmePrintsWhatTheReadmeShows(@TempDir Path dir) throws Exception {
    Path runDir = dir.resolve("run");
    Path limits = Files.copy(Path.of("conf/limits.json"), dir.resolve("limits.json"));
    Map<String, String> ports = new LinkedHashMap<>();
    // 50053 and 8083: the TLS instance of the security quick start.
    for (String port : List.of("50051", "50052", "8081", "8082", "8080", "50053", "8083")) {
      ports.put(port, String.valueOf(Ports.free()));
    }
    String redisPort = String.valueOf(Ports.free());
    Map<String, String> env = Map.of(
        "SLUICE_RUN_DIR", runDir.toString(),
        "SLUICE_FLEET_PORTS", ports.get("50051") + " " + ports.get("50052"),
        "SLUICE_FLEET_HTTP_PORTS", ports.get("8081") + " " + ports.get("8082"),
        "SLUICE_DEMO_PORT", ports.get("8080"),
        "SLUICE_REDIS_PORT", redisPort,
        "SLUICE_LIMITS", limits.toString());
    List<ReadmeExamples.Example> examples = ReadmeExamples.parse(Files.readString(Path.of("README.md")));
    assertThat(examples).as("the README's console examples").hasSizeGreaterThan(20);

    StringBuilder script = new StringBuilder("cd '" + Path.of("").toAbsolutePath() + "'\n")
        // An example that starts a process in the background stops it itself; if it fails first, this does.
        .append("trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n")
        .append("export SLUICE_REDIS=redis://127.0.0.1:").append(redisPort).append('\n')
        // The class-data-sharing archive is made by the first call: made here, it is not what the examples time.
        .append("scripts/sluice check --target 127.0.0.1:").append(ports.get("50051"))
        .append(" --user readme-warm-up --action api > /dev/null 2>&1\n");
    for (int i = 0; i < examples.size(); i++) {
      script.append("printf '\\n").append(MARK).append(i).append(">>>\\n'\n")
          .append("{ ").append(localized(examples.get(i).command(), ports, runDir, limits)).append("\n} 2>&1\n")
          .append("printf '\\n").append(MARK).append("exit %d>>>\\n' $?\n");
    }
    Path scriptFile = Files.writeString(dir.resolve("readme.sh"), script);

    try {
      Result up = run(env, 180, "scripts/fleet.sh", "up");
      assertEquals(0, up.exitCode(), up.output());
      Result ran = run(env, 300, "bash", scriptFile.toString());
      assertEquals(0, ran.exitCode(), ran.output());
      // Each example's output follows its mark, and its exit code closes it.
      Map<Integer, List<String>> outputs = new LinkedHashMap<>();
      Map<Integer, String> exits = new LinkedHashMap<>();
      int current = -1;
      for (String part : ran.output().split("\n" + java.util.regex.Pattern.quote(MARK))) {
        String head = part.lines().findFirst().orElse("");
        if (head.startsWith("exit ")) {
          exits.put(current, head.substring("exit ".length(), head.indexOf(">>>")));
        } else if (head.endsWith(">>>")) {
          current = Integer.parseInt(head.substring(0, head.indexOf(">>>")));
          outputs.put(current, part.lines().skip(1).filter(line -> !line.isBlank()).toList());
        }
      }
      List<String> failures = new ArrayList<>();
      for (int i = 0; i < examples.size(); i++) {
        ReadmeExamples.Example example = examples.get(i);
        ReadmeExamples.Example expected = new ReadmeExamples.Example(example.line(), example.command(),
            example.expected().stream().map(line -> localized(line, ports, runDir, limits)).toList(), example.approx());
        List<String> output = outputs.getOrDefault(i, List.of());
        String exit = exits.getOrDefault(i, "none");
        if (!"0".equals(exit) || !ReadmeExamples.shows(output, expected)) {
          failures.add("README.md:" + example.line() + " $ " + example.command() + "\n  exit " + exit
              + "\n  the README shows:\n    " + String.join("\n    ", expected.expected())
              + "\n  it printed:\n    " + String.join("\n    ", output));
        }
      }
      assertThat(failures).as("examples whose output differs from the README").isEmpty();
    } finally {
      Result down = run(env, 120, "scripts/fleet.sh", "down");
      assertEquals(0, down.exitCode(), down.output());
    }
  }

  /** The README's ports and paths, as this run has them. */
  private static String localized(String text, Map<String, String> ports, Path runDir, Path limits) {
    String local = text.replace("run/admin-token", runDir.resolve("admin-token").toString())
        .replace("run/console-cookies", runDir.resolve("console-cookies").toString())
        .replace("run/tls", runDir.resolve("tls").toString())
        .replace("conf/limits.json", limits.toString());
    for (Map.Entry<String, String> port : ports.entrySet()) {
      local = local.replace("127.0.0.1:" + port.getKey(), "127.0.0.1:" + port.getValue())
          .replace("localhost:" + port.getKey(), "localhost:" + port.getValue())
          .replace("--port " + port.getKey(), "--port " + port.getValue())
          .replace("--http-port " + port.getKey(), "--http-port " + port.getValue());
    }
    return local;
  }
}
