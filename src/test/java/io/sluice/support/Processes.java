package io.sluice.support;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Commands run as a user runs them, from the project's root, with their output (stdout and stderr, in order). */
public final class Processes {

  private Processes() {
  }

  public record Result(int exitCode, String output) {
  }

  /** Whether a command of that name is on PATH. */
  public static boolean onPath(String command) {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (java.nio.file.Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }

  /** Runs a command to its end, or kills it after the timeout (exit code -1). */
  public static Result run(Map<String, String> env, int timeoutSeconds, String... command) throws Exception {
    return run(Path.of("."), env, timeoutSeconds, command);
  }

  public static Result run(Path directory, Map<String, String> env, int timeoutSeconds, String... command) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true);
    builder.environment().putAll(env);
    Process process = builder.start();
    // Read in the background: a command that fills the pipe must not stall on it.
    CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(process.getInputStream().readAllBytes());
      } catch (IOException e) {
        return "(output lost: " + e + ")";
      }
    });
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      return new Result(-1, "timed out: " + String.join(" ", command) + "\n" + output.get(10, TimeUnit.SECONDS));
    }
    return new Result(process.exitValue(), output.get(10, TimeUnit.SECONDS));
  }
}
