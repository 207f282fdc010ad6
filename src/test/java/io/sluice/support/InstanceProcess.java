package io.sluice.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Sluice instance as users run it: a process of its own started by {@code scripts/sluice} (the
 * launcher's JVM flags: the 160 MB heap, the serial collector), cold, with its log in a file.
 * Not a fixture in the warm test JVM, whose heap, compiler and cores say nothing of an instance's
 * worst second. Closing it stops the process (SIGTERM, then SIGKILL) and removes its files.
 */
public final class InstanceProcess implements AutoCloseable {

  private final Process process;
  private final Path log;
  private final Path limits;
  private final int port;
  private final int httpPort;

  private InstanceProcess(Process process, Path log, Path limits, int port, int httpPort) {
    this.process = process;
    this.log = log;
    this.limits = limits;
    this.port = port;
    this.httpPort = httpPort;
  }

  /** Starts an instance on free ports with these limits and extra settings ({@code SLUICE_*} variables). */
  public static InstanceProcess start(String redisUri, String limitsJson, Map<String, String> settings) throws IOException {
    Path limits = Files.createTempFile("sluice-limits", ".json");
    Files.writeString(limits, limitsJson);
    Path log = Files.createTempFile("sluice-instance", ".log");
    int port = Ports.free();
    int httpPort = Ports.free();
    Map<String, String> env = new HashMap<>();
    env.put("SLUICE_HOST", "127.0.0.1");
    env.put("SLUICE_PORT", String.valueOf(port));
    env.put("SLUICE_HTTP_PORT", String.valueOf(httpPort));
    env.put("SLUICE_REDIS", redisUri);
    env.put("SLUICE_LIMITS", limits.toString());
    env.put("SLUICE_HEARTBEAT_MS", "60000");
    env.putAll(settings);
    ProcessBuilder builder = new ProcessBuilder("scripts/sluice").redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    return new InstanceProcess(builder.start(), log, limits, port, httpPort);
  }

  public int port() {
    return port;
  }

  public int httpPort() {
    return httpPort;
  }

  public long pid() {
    return process.pid();
  }

  public Process process() {
    return process;
  }

  public URI http(String path) {
    return URI.create("http://127.0.0.1:" + httpPort + path);
  }

  /** Waits until {@code /health/ready} answers 200. */
  public InstanceProcess awaitReady(Duration timeout) {
    Await.until("the instance to be ready", timeout, () -> {
      if (!process.isAlive()) {
        throw new IllegalStateException("the instance exited " + process.exitValue() + ":\n" + log());
      }
      return Http.status(http("/health/ready")) == 200;
    });
    return this;
  }

  public String metrics() {
    return Http.body(http("/metrics"));
  }

  public double metric(String name, String... labels) {
    return Http.metric(metrics(), name, labels);
  }

  /** Everything the instance logged so far. */
  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Lines of the log so far. */
  public long logLines() {
    return log().lines().count();
  }

  /** The resident memory of the process now, in bytes (Linux). */
  public long residentBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException("no VmRSS for " + process.pid());
  }

  @Override
  public void close() throws Exception {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    Files.deleteIfExists(limits);
    Files.deleteIfExists(log);
  }
}
