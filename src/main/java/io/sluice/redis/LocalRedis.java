package io.sluice.redis;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway redis-server process on loopback with persistence off, for the tests and the local
 * fleet. Closing it stops the process; a JVM shutdown hook stops it too if nobody did.
 */
public final class LocalRedis implements AutoCloseable {

  private final Process process;
  private final int port;
  private final Thread shutdownHook;

  private LocalRedis(Process process, int port) {
    this.process = process;
    this.port = port;
    this.shutdownHook = new Thread(process::destroy, "local-redis-stop");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts redis-server on {@code port} and returns once it accepts connections. */
  public static LocalRedis start(Path binary, int port, String... moreArgs) throws IOException {
    return start(binary, null, port, moreArgs);
  }

  /**
   * Starts redis-server with a configuration file first (as a sentinel needs: it writes what it
   * learns back into it), then the options given.
   */
  public static LocalRedis start(Path binary, Path configFile, int port, String... moreArgs) throws IOException {
    List<String> command = new ArrayList<>(List.of(binary.toString()));
    if (configFile != null) {
      command.add(configFile.toString());
    }
    command.addAll(List.of("--port", String.valueOf(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--protected-mode", "no"));
    command.addAll(List.of(moreArgs));
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .start();
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    StringBuilder log = new StringBuilder();
    String line;
    while ((line = out.readLine()) != null) {
      log.append(line).append('\n');
      // A sentinel says who it is instead.
      if (line.contains("Ready to accept connections") || line.contains("Sentinel ID is")) {
        drainInBackground(out);
        return new LocalRedis(process, port);
      }
    }
    process.destroy();
    throw new IOException("redis-server exited before it was ready:\n" + log);
  }

  private static void drainInBackground(BufferedReader out) {
    Thread drain = new Thread(() -> {
      try {
        while (out.readLine() != null) {
          // Redis logs go nowhere: the pipe only has to stay open and empty.
        }
      } catch (IOException ignored) {
        // The process ended.
      }
    }, "local-redis-log");
    drain.setDaemon(true);
    drain.start();
  }

  public int port() {
    return port;
  }

  /** The process id, for tests that stop and resume Redis with signals. */
  public long pid() {
    return process.pid();
  }

  public String uri() {
    return "redis://127.0.0.1:" + port;
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException alreadyShuttingDown) {
      // The hook is running or ran: the process is being stopped anyway.
    }
  }
}
