package io.sluice.deploy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.sluice.config.Settings;
import io.sluice.config.SettingsLoader;
import io.sluice.limits.LimitsParser;
import io.sluice.support.Http;
import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.lang.reflect.Method;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * deploy/k8s as Kubernetes would take it: every overlay rendered by {@code kubectl kustomize} (where
 * kubectl is installed), every object read as its typed model with no field the API does not know,
 * and the ports, probes, settings, memory and doors agreeing with what the instance really serves.
 * The base's files are read the same way without kubectl.
 */
@ExtendWith(RedisExtension.class)
class KubernetesManifestsTest {

  private static final Path KUBECTL = Path.of("/usr/bin/kubectl");
  private static final Path BASE = Path.of("deploy/k8s/base");
  private static final List<String> OVERLAYS = List.of("dev", "cluster", "sentinel");
  private static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
      "Deployment", Deployment.class, "Service", Service.class, "ConfigMap", ConfigMap.class,
      "PodDisruptionBudget", PodDisruptionBudget.class, "HorizontalPodAutoscaler", HorizontalPodAutoscaler.class,
      "NetworkPolicy", NetworkPolicy.class);
  private static final JsonObject DEFAULTS = Settings.defaults();
  private static final ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);

  @Test
  void theBaseFilesAreValidObjectsAndItsLimitsAreTheShippedOnes() throws Exception {
    for (String file : List.of("deployment.yaml", "service.yaml", "pdb.yaml", "hpa.yaml", "networkpolicy.yaml")) {
      assertThat(objects(Files.readString(BASE.resolve(file)))).as(file).isNotEmpty();
    }
    // kustomize reads only files under the kustomization: the base keeps a copy of conf/limits.json, the same.
    assertEquals(Files.readString(Path.of("conf/limits.json")), Files.readString(BASE.resolve("limits.json")));
    LimitsParser.parse(new JsonObject(Files.readString(BASE.resolve("limits.json"))), "deploy/k8s/base/limits.json", 0);
  }

  @Test
  void everyOverlayRendersToValidObjectsThatAgreeWithWhatTheInstanceServes(TestRedis redis) throws Exception {
    boolean present = Files.isExecutable(KUBECTL);
    if (!present) {
      System.out.println("KubernetesManifestsTest skipped the overlays: no " + KUBECTL + " to render them (kubectl kustomize)");
    }
    Assumptions.assumeTrue(present, "no " + KUBECTL + " to render the overlays");
    for (String overlay : OVERLAYS) {
      List<HasMetadata> objects = objects(render("deploy/k8s/overlays/" + overlay));
      Deployment deployment = one(objects, Deployment.class, "sluice");
      Container sluice = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
      Map<String, String> env = sluice.getEnv().stream().filter(var -> var.getValue() != null)
          .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
      String where = overlay + ": ";

      // Every setting is one the instance knows, and the ports are the ones it listens on.
      Set<String> known = DEFAULTS.fieldNames().stream().map(SettingsLoader::envName).collect(Collectors.toSet());
      assertThat(sluice.getEnv()).extracting(EnvVar::getName).as(where + "settings").allMatch(known::contains);
      Map<String, Integer> ports = sluice.getPorts().stream().collect(Collectors.toMap(ContainerPort::getName, ContainerPort::getContainerPort));
      assertEquals(Map.of("grpc", Integer.parseInt(env.get("SLUICE_PORT")), "ops", Integer.parseInt(env.get("SLUICE_HTTP_PORT"))), ports);
      assertEquals("/health/ready", sluice.getReadinessProbe().getHttpGet().getPath());
      assertEquals("ops", sluice.getReadinessProbe().getHttpGet().getPort().getStrVal());
      assertEquals("/health/live", sluice.getLivenessProbe().getHttpGet().getPath());
      assertEquals("ops", sluice.getLivenessProbe().getHttpGet().getPort().getStrVal());

      // Longer to terminate than the instance drains; memory for the heap the launcher gives it and the rest of the JVM.
      long drainMs = DEFAULTS.getLong("drainTimeoutMs");
      assertThat(deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() * 1000).isGreaterThan(drainMs + 10_000);
      long needed = launcherMemoryBytes();
      assertThat(Quantity.getAmountInBytes(sluice.getResources().getLimits().get("memory")).longValue()).as(where + "memory limit")
          .isGreaterThanOrEqualTo(needed);
      assertThat(Quantity.getAmountInBytes(sluice.getResources().getRequests().get("memory")).longValue()).as(where + "memory request")
          .isGreaterThan(needed / 2);

      // The limits are a ConfigMap mounted as a directory (hot reload), the admin token a Secret's file.
      Map<String, VolumeMount> mounts = sluice.getVolumeMounts().stream().collect(Collectors.toMap(VolumeMount::getName, mount -> mount));
      assertThat(mounts.get("limits").getSubPath()).as("a subPath mount is never updated").isNull();
      assertEquals(mounts.get("limits").getMountPath() + "/limits.json", env.get("SLUICE_LIMITS"));
      assertEquals("sluice-limits", deployment.getSpec().getTemplate().getSpec().getVolumes().stream()
          .filter(volume -> volume.getName().equals("limits")).findFirst().orElseThrow().getConfigMap().getName());
      ConfigMap limits = one(objects, ConfigMap.class, "sluice-limits");
      LimitsParser.parse(new JsonObject(limits.getData().get("limits.json")), "the ConfigMap sluice-limits", 0);
      assertThat(env.get("SLUICE_ADMIN_TOKEN_FILE")).startsWith(mounts.get("admin-token").getMountPath() + "/");
      assertEquals("sluice-admin-token", deployment.getSpec().getTemplate().getSpec().getVolumes().stream()
          .filter(volume -> volume.getName().equals("admin-token")).findFirst().orElseThrow().getSecret().getSecretName());

      // Services, the budget and the autoscaler find the pods; the doors admit the backends and Prometheus only.
      Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
      assertThat(podLabels).containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());
      for (Service service : all(objects, Service.class).stream().filter(s -> s.getMetadata().getName().startsWith("sluice")).toList()) {
        assertThat(podLabels).as(service.getMetadata().getName()).containsAllEntriesOf(service.getSpec().getSelector());
        for (ServicePort port : service.getSpec().getPorts()) {
          assertThat(ports).as(service.getMetadata().getName()).containsKey(port.getTargetPort().getStrVal());
        }
      }
      assertThat(podLabels).containsAllEntriesOf(one(objects, PodDisruptionBudget.class, "sluice").getSpec().getSelector().getMatchLabels());
      assertEquals("sluice", one(objects, HorizontalPodAutoscaler.class, "sluice").getSpec().getScaleTargetRef().getName());
      assertThat(deployment.getSpec().getReplicas()).as("the autoscaler owns the count").isNull();
      assertThat(sluice.getLifecycle().getPreStop().getExec().getCommand()).containsExactly("sleep", "5");
      assertThat(deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() * 1000)
          .isGreaterThan(5_000 + drainMs);
      NetworkPolicy doors = one(objects, NetworkPolicy.class, "sluice");
      assertThat(podLabels).containsAllEntriesOf(doors.getSpec().getPodSelector().getMatchLabels());
      Map<String, Map<String, String>> admitted = new HashMap<>();
      for (NetworkPolicyIngressRule rule : doors.getSpec().getIngress()) {
        assertThat(rule.getPorts()).hasSize(1);
        assertThat(rule.getFrom()).hasSize(1);
        admitted.put(rule.getPorts().get(0).getPort().getStrVal(), rule.getFrom().get(0).getPodSelector().getMatchLabels());
      }
      assertEquals(Map.of("grpc", Map.of("sluice-client", "true"), "ops", Map.of("app.kubernetes.io/name", "prometheus")), admitted,
          where + "who may reach which port");

      // Redis, as the overlay says.
      switch (overlay) {
        case "dev" -> {
          assertEquals("redis://redis:6379", env.get("SLUICE_REDIS"));
          assertThat(one(objects, Service.class, "redis").getSpec().getPorts().get(0).getPort()).isEqualTo(6379);
          assertThat(one(objects, NetworkPolicy.class, "redis").getSpec().getIngress().get(0).getFrom().get(0).getPodSelector()
              .getMatchLabels()).isEqualTo(Map.of("app.kubernetes.io/name", "sluice"));
        }
        case "cluster", "sentinel" -> {
          assertEquals(overlay, env.get("SLUICE_REDIS_MODE"));
          assertEquals("sluice-redis", sluice.getEnv().stream().filter(var -> var.getName().equals("SLUICE_REDIS_PASSWORD")).findFirst()
              .orElseThrow().getValueFrom().getSecretKeyRef().getName());
          assertThat(one(objects, HorizontalPodAutoscaler.class, "sluice").getSpec().getMinReplicas()).isGreaterThanOrEqualTo(3);
        }
        default -> throw new AssertionError(overlay);
      }

      // The settings the Deployment gives, taken by a real instance (its files and Redis this test's):
      // it starts, and the probes' paths answer on the port the probes ask.
      JsonObject settings = new JsonObject();
      for (Map.Entry<String, String> var : env.entrySet()) {
        DEFAULTS.fieldNames().stream().filter(key -> SettingsLoader.envName(key).equals(var.getKey())).findFirst()
            .ifPresent(key -> settings.put(key, DEFAULTS.getValue(key) instanceof Number ? (Object) Long.parseLong(var.getValue())
                : DEFAULTS.getValue(key) instanceof Boolean ? (Object) Boolean.parseBoolean(var.getValue()) : var.getValue()));
      }
      settings.put("host", "127.0.0.1").put("port", Ports.free()).put("httpPort", Ports.free()).remove("redisMode");
      settings.remove("redisMasterName");
      settings.remove("redisUser");
      settings.remove("redis");
      settings.remove("limits");
      // The fixture's own token stands for the Secret's file.
      settings.remove("adminTokenFile");
      try (SluiceFixture instance = SluiceFixture.start(redis.uri(), limits.getData().get("limits.json"), settings)) {
        assertEquals(200, Http.status(URI.create("http://127.0.0.1:" + instance.httpPort() + sluice.getReadinessProbe().getHttpGet().getPath())));
        assertEquals(200, Http.status(URI.create("http://127.0.0.1:" + instance.httpPort() + sluice.getLivenessProbe().getHttpGet().getPath())));
        assertEquals("login", instance.check("k8s-" + overlay, "login").getRule());
      }
    }
  }

  @Test
  void aConfigMapChangedAsTheKubeletSwapsItIsAppliedWithoutARestart(TestRedis redis, @org.junit.jupiter.api.io.TempDir Path mount)
      throws Exception {
    // The kubelet's layout: the file is a link through ..data to a timestamped directory, and an
    // update writes a new directory, then swaps ..data to it in one rename.
    String before = "{\"rules\": {\"default\": {\"capacity\": 100, \"refillPerSecond\": 10}, \"login\": {\"capacity\": 5, \"refillPerSecond\": 1}}}";
    Path first = Files.createDirectory(mount.resolve("..2026_12_07_10_00_00.1"));
    Files.writeString(first.resolve("limits.json"), before);
    Files.createSymbolicLink(mount.resolve("..data"), first.getFileName());
    Files.createSymbolicLink(mount.resolve("limits.json"), Path.of("..data/limits.json"));
    try (SluiceFixture instance = SluiceFixture.start(redis.uri(), mount.resolve("limits.json"), new JsonObject())) {
      assertEquals(5, instance.check("configmap-" + System.nanoTime(), "login").getLimit());
      Path second = Files.createDirectory(mount.resolve("..2026_12_07_10_01_00.2"));
      Files.writeString(second.resolve("limits.json"), before.replace("\"capacity\": 5", "\"capacity\": 9"));
      Files.createSymbolicLink(mount.resolve("..data_tmp"), second.getFileName());
      Files.move(mount.resolve("..data_tmp"), mount.resolve("..data"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      io.sluice.support.Await.until("the swapped limits applied", java.time.Duration.ofSeconds(10),
          () -> instance.check("configmap-" + System.nanoTime(), "login").getLimit() == 9);
    }
  }

  /** What scripts/sluice gives the server: heap, metaspace and code cache, Netty's direct memory (up to the heap), 64 MiB for the rest. */
  private static long launcherMemoryBytes() throws Exception {
    String launcher = Files.readString(Path.of("scripts/sluice"));
    Matcher server = Pattern.compile("server\\) flags\\+=\\(([^)]*)\\)").matcher(launcher);
    assertThat(server.find()).as("the server's flags in scripts/sluice").isTrue();
    String flags = server.group(1);
    long heap = megabytes(flags, "-Xmx(\\d+)m");
    return (heap + heap + megabytes(flags, "-XX:MaxMetaspaceSize=(\\d+)m") + megabytes(flags, "-XX:ReservedCodeCacheSize=(\\d+)m") + 64)
        << 20;
  }

  private static long megabytes(String flags, String pattern) {
    Matcher flag = Pattern.compile(pattern).matcher(flags);
    assertThat(flag.find()).as(pattern + " in " + flags).isTrue();
    return Long.parseLong(flag.group(1));
  }

  private static String render(String overlay) throws Exception {
    Path out = Files.createTempFile("sluice-k8s", ".yaml");
    try {
      Process kubectl = new ProcessBuilder(KUBECTL.toString(), "kustomize", overlay).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!kubectl.waitFor(120, TimeUnit.SECONDS)) {
        kubectl.destroyForcibly();
        throw new AssertionError("kubectl kustomize " + overlay + " did not end");
      }
      String rendered = Files.readString(out);
      assertEquals(0, kubectl.exitValue(), "kubectl kustomize " + overlay + ":\n" + rendered);
      return rendered;
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** Each document as its typed object: a kind this test does not know, or a field its API does not have, fails. */
  @SuppressWarnings("unchecked")
  private static List<HasMetadata> objects(String yaml) throws Exception {
    List<HasMetadata> objects = new ArrayList<>();
    for (Object document : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(yaml)) {
      if (document == null) {
        continue;
      }
      Map<String, Object> map = (Map<String, Object>) document;
      Class<? extends HasMetadata> kind = KINDS.get((String) map.get("kind"));
      assertThat(kind).as("a kind this test reads: " + map.get("kind")).isNotNull();
      HasMetadata object = json.convertValue(map, kind);
      assertThat(unknownFields(object, new IdentityHashMap<>())).as(map.get("kind") + " " + object.getMetadata().getName()).isEmpty();
      objects.add(object);
    }
    return objects;
  }

  /** The fabric8 models keep fields they do not know aside (additionalProperties): any there is a mistake. */
  private static List<String> unknownFields(Object node, Map<Object, Boolean> seen) throws Exception {
    List<String> unknown = new ArrayList<>();
    if (node == null || seen.put(node, true) != null || !node.getClass().getName().startsWith("io.fabric8")) {
      if (node instanceof Collection<?> items) {
        for (Object item : items) {
          unknown.addAll(unknownFields(item, seen));
        }
      } else if (node instanceof Map<?, ?> values && !(node instanceof Quantity)) {
        for (Object value : values.values()) {
          unknown.addAll(unknownFields(value, seen));
        }
      }
      return unknown;
    }
    for (Method getter : node.getClass().getMethods()) {
      if (getter.getParameterCount() != 0 || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class) {
        continue;
      }
      Object value = getter.invoke(node);
      if (getter.getName().equals("getAdditionalProperties")) {
        if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
          unknown.add(node.getClass().getSimpleName() + " " + extra.keySet());
        }
      } else {
        unknown.addAll(unknownFields(value, seen));
      }
    }
    return unknown;
  }

  private static <T extends HasMetadata> List<T> all(List<HasMetadata> objects, Class<T> kind) {
    return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
  }

  private static <T extends HasMetadata> T one(List<HasMetadata> objects, Class<T> kind, String name) {
    return all(objects, kind).stream().filter(object -> object.getMetadata().getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind.getSimpleName() + " " + name));
  }
}
