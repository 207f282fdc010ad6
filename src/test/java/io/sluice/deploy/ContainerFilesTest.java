package io.sluice.deploy;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The container path, checked without a Docker engine: the compose file, the Envoy config and the
 * Dockerfile say what the README promises, and the image builds the jar the way the local path does.
 * Where docker-compose (or the compose plugin) is installed, {@code config} validates the file too.
 */
class ContainerFilesTest {

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(String file) throws Exception {
    return new Yaml().load(Files.readString(Path.of(file)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> service(Map<String, Object> compose, String name) {
    Map<String, Object> services = (Map<String, Object>) compose.get("services");
    assertThat(services).as("services").containsKey(name);
    return (Map<String, Object>) services.get(name);
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeRunsRedisTwoInstancesEnvoyAndTheDemoBackendWithHealthBasedOrder() throws Exception {
    Map<String, Object> compose = yaml("docker-compose.yml");
    assertThat(service(compose, "redis")).containsKey("healthcheck");
    assertThat((List<String>) service(compose, "sluice-a").get("ports")).contains("50051:50051");
    assertThat((List<String>) service(compose, "sluice-b").get("ports")).contains("50052:50051");
    for (String instance : List.of("sluice-a", "sluice-b")) {
      Map<String, Object> sluice = service(compose, instance);
      assertEquals(".", sluice.get("build"));
      assertThat((List<String>) sluice.get("volumes")).as("conf/ mounted for hot reload").contains("./conf:/app/conf:ro");
      Map<String, Object> dependsOn = (Map<String, Object>) sluice.get("depends_on");
      assertEquals("service_healthy", ((Map<String, Object>) dependsOn.get("redis")).get("condition"));
      assertEquals("redis://redis:6379", ((Map<String, Object>) sluice.get("environment")).get("SLUICE_REDIS"));
    }
    Map<String, Object> envoyDependsOn = (Map<String, Object>) service(compose, "envoy").get("depends_on");
    assertEquals("service_healthy", ((Map<String, Object>) envoyDependsOn.get("sluice-a")).get("condition"));
    assertEquals("service_healthy", ((Map<String, Object>) envoyDependsOn.get("sluice-b")).get("condition"));
    assertThat((List<String>) service(compose, "demo-backend").get("command")).containsSequence("--targets", "envoy:50050");
    assertThat((List<String>) service(compose, "envoy").get("volumes")).contains("./deploy/envoy.yaml:/etc/envoy/envoy.yaml:ro");
  }

  /**
   * make simulate and the CLI's admin commands take run/admin-token with compose as without it: a
   * one-shot service makes it as scripts/fleet.sh does, before the instances start, and they read
   * it from a file, so that it is in no container's environment (AdminTokenTest runs the script and
   * an instance on such a file).
   */
  @Test
  @SuppressWarnings("unchecked")
  void composeMakesTheAdminTokenInRunAsTheLocalFleetDoesBeforeTheInstancesStart() throws Exception {
    Map<String, Object> compose = yaml("docker-compose.yml");
    Map<String, Object> token = service(compose, "admin-token");
    String command = String.join("\n", (List<String>) token.get("command"));
    assertThat(command).contains("/app/admin-token.sh /app/run/admin-token").contains("install -m 600 -o sluice /app/run/admin-token /secrets/admin-token");
    assertThat((List<String>) token.get("volumes")).contains("./run:/app/run", "admin-token:/secrets", "./conf:/app/conf:ro");
    assertThat((Map<String, Object>) token.get("environment")).containsEntry("SLUICE_ADMIN_TOKEN", "${SLUICE_ADMIN_TOKEN:-}");
    assertThat(Files.readString(Path.of("Dockerfile"))).contains("COPY scripts/admin-token.sh /app/admin-token.sh");
    assertThat(Files.readString(Path.of("scripts/fleet.sh"))).contains("scripts/admin-token.sh\" \"$run_dir/admin-token\"");
    assertThat(Files.readString(Path.of("Makefile"))).contains("TOKEN_FILE ?= run/admin-token");
    assertThat((Map<String, Object>) compose.get("volumes")).containsKey("admin-token");
    for (String instance : List.of("sluice-a", "sluice-b")) {
      Map<String, Object> sluice = service(compose, instance);
      Map<String, Object> environment = (Map<String, Object>) sluice.get("environment");
      assertThat(environment).containsEntry("SLUICE_ADMIN_TOKEN_FILE", "/secrets/admin-token").doesNotContainKey("SLUICE_ADMIN_TOKEN");
      assertThat((List<String>) sluice.get("volumes")).contains("admin-token:/secrets:ro");
      Map<String, Object> dependsOn = (Map<String, Object>) sluice.get("depends_on");
      assertEquals("service_completed_successfully", ((Map<String, Object>) dependsOn.get("admin-token")).get("condition"));
    }
  }

  @Test
  void envoyBalancesOverBothInstancesAndChecksTheirGrpcHealth() throws Exception {
    String envoy = Files.readString(Path.of("deploy/envoy.yaml"));
    yaml("deploy/envoy.yaml");
    assertThat(envoy).contains("address: sluice-a, port_value: 50051", "address: sluice-b, port_value: 50051",
        "lb_policy: ROUND_ROBIN", "http2_protocol_options", "grpc_health_check", "port_value: 50050");
  }

  @Test
  void envoysEdgeAsksSluiceThroughItsOwnProtocolUnderRulesThatParse() throws Exception {
    String envoy = Files.readString(Path.of("deploy/envoy.yaml"));
    assertThat(envoy).contains("envoy.filters.http.ratelimit", "domain: edge", "cluster_name: sluice", "transport_api_version: V3",
        "port_value: 10000", "remote_address: {}", "descriptor_key: path");
    java.util.Map<String, String> files = new java.util.TreeMap<>();
    try (var paths = Files.list(Path.of("conf/envoy"))) {
      for (Path file : paths.filter(path -> path.toString().endsWith(".yaml")).toList()) {
        files.put(file.getFileName().toString(), Files.readString(file));
      }
    }
    io.sluice.envoy.EnvoyRules rules = io.sluice.envoy.EnvoyRulesParser.parse(files, "conf/envoy",
        io.sluice.envoy.EnvoyRulesParser.Algorithm.TOKEN_BUCKET);
    assertThat(rules.match("edge", io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor.newBuilder()
        .addEntries(io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor.Entry.newBuilder()
            .setKey("remote_address").setValue("203.0.113.7")).build())).as("what the edge's remote_address action sends").isNotNull();
    Map<String, Object> compose = yaml("docker-compose.yml");
    Map<String, Object> environment = (Map<String, Object>) service(compose, "sluice-a").get("environment");
    assertThat(environment).containsEntry("SLUICE_ENVOY_RULES", "conf/envoy");
  }

  @Test
  void theImageBuildsTheJarAsTheLocalPathDoesAndRunsAsNonRootWithAHealthcheck() throws Exception {
    String dockerfile = Files.readString(Path.of("Dockerfile"));
    String buildStep = "mvn -B -DskipTests package";
    assertThat(dockerfile).contains("RUN " + buildStep);
    assertThat(Files.readString(Path.of("Makefile"))).contains(buildStep);
    assertThat(Files.readString(Path.of("scripts/fleet.sh"))).contains("mvn -B -q -DskipTests package");
    assertThat(dockerfile).containsPattern("(?m)^USER sluice$").contains("HEALTHCHECK").contains("/health/ready")
        .contains("COPY conf /app/conf").contains("FROM eclipse-temurin:17-jre");
  }

  @Test
  void composeConfigValidatesWhereComposeIsInstalled() throws Exception {
    List<String> command = onPath("docker-compose") ? List.of("docker-compose", "-f", "docker-compose.yml", "config", "-q")
        : composePlugin() ? List.of("docker", "compose", "-f", "docker-compose.yml", "config", "-q") : null;
    Assumptions.assumeTrue(command != null, "neither docker-compose nor the compose plugin is installed");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertEquals(0, process.exitValue(), output);
  }

  private static boolean onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }

  private static boolean composePlugin() {
    if (!onPath("docker")) {
      return false;
    }
    try {
      Process process = new ProcessBuilder("docker", "compose", "version").redirectErrorStream(true).start();
      process.getInputStream().readAllBytes();
      return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
    } catch (Exception e) {
      return false;
    }
  }
}
