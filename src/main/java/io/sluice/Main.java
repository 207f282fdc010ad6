package io.sluice;

import io.sluice.cli.AdminCommands;
import io.sluice.cli.CheckBatchCommand;
import io.sluice.cli.CheckCommand;
import io.sluice.cli.DemoBackendCommand;
import io.sluice.cli.ShouldRateLimitCommand;
import io.sluice.cli.OverrideCommands;
import io.sluice.cli.SimulateCommand;
import io.sluice.cli.TierCommands;
import io.sluice.cli.AdjustCommand;
import io.sluice.cli.LeaseCommands;
import io.sluice.cli.LimitsCommands;
import io.sluice.cli.LocalClusterCommand;
import io.sluice.cli.RedisBinaryCommand;
import io.sluice.cli.ReportLatencyCommand;
import io.sluice.config.Settings;
import io.sluice.config.SettingsLoader;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Logs;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code java -jar sluice.jar [flags]} serves; subcommands are tools around the service.
 */
@Command(name = "sluice", mixinStandardHelpOptions = true, version = "sluice 0.1.0",
    description = "Distributed rate limiter and abuse detection. With no subcommand, serves gRPC.")
public final class Main implements Callable<Integer> {

  /**
   * The tools, built only when named: picocli reading every one of them (and the classes they load)
   * cost a CLI call a third of a second before it did anything.
   */
  private static final Map<String, Supplier<Object>> TOOLS = new LinkedHashMap<>();

  static {
    TOOLS.put("check", CheckCommand::new);
    TOOLS.put("check-batch", CheckBatchCommand::new);
    TOOLS.put("acquire", LeaseCommands.Acquire::new);
    TOOLS.put("release", LeaseCommands.Release::new);
    TOOLS.put("adjust", AdjustCommand::new);
    TOOLS.put("report-latency", ReportLatencyCommand::new);
    TOOLS.put("should-rate-limit", ShouldRateLimitCommand::new);
    TOOLS.put("bans", AdminCommands.List::new);
    TOOLS.put("ban", AdminCommands.Ban::new);
    TOOLS.put("unban", AdminCommands.Unban::new);
    TOOLS.put("audit", AdminCommands.Audit::new);
    TOOLS.put("tier", TierCommands::new);
    TOOLS.put("override", OverrideCommands::new);
    TOOLS.put("limits", LimitsCommands.Show::new);
    TOOLS.put("publish-limits", LimitsCommands.Publish::new);
    TOOLS.put("throttle", LimitsCommands.Throttle::new);
    TOOLS.put("simulate", SimulateCommand::new);
    TOOLS.put("demo-backend", DemoBackendCommand::new);
    TOOLS.put("bench", Main::loadGenerator);
    TOOLS.put("redis-binary", RedisBinaryCommand::new);
    TOOLS.put("local-cluster", LocalClusterCommand::new);
  }

  /** The load generator's command, in its own jar: the service's classes do not carry it. */
  private static final String LOAD_GENERATOR = "io.sluice.bench.BenchCommand";

  /**
   * {@code sluice bench} from {@code sluice-bench.jar} beside this jar (the build makes both), or from
   * the class path where it is already there (tests, an IDE).
   */
  private static Object loadGenerator() {
    ClassLoader own = Main.class.getClassLoader();
    try {
      if (own.getResource(LOAD_GENERATOR.replace('.', '/') + ".class") != null) {
        return Class.forName(LOAD_GENERATOR, true, own).getDeclaredConstructor().newInstance();
      }
      Path benchJar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI())
          .resolveSibling("sluice-bench.jar");
      if (!Files.isRegularFile(benchJar)) {
        return new MissingLoadGenerator(benchJar);
      }
      // Never closed: the classes serve until the process exits.
      ClassLoader bench = new URLClassLoader(new URL[] {benchJar.toUri().toURL()}, own);
      return Class.forName(LOAD_GENERATOR, true, bench).getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException | URISyntaxException | IOException e) {
      throw new IllegalStateException("cannot load the load generator " + LOAD_GENERATOR, e);
    }
  }

  @Command(name = "bench", description = "The load generator, which ships as sluice-bench.jar beside sluice.jar.")
  private static final class MissingLoadGenerator implements Callable<Integer> {
    private final Path expected;

    /** Whatever was asked of it: the answer is the same. */
    @picocli.CommandLine.Unmatched
    java.util.List<String> arguments;

    MissingLoadGenerator(Path expected) {
      this.expected = expected;
    }

    @Override
    public Integer call() {
      System.err.println("sluice bench: the load generator is not installed: " + expected
          + " is missing (mvn package builds it into target/ beside sluice.jar)");
      return 2;
    }
  }

  @Option(names = "--config", description = "Settings file (default: ${DEFAULT-VALUE} if present).", defaultValue = SettingsLoader.DEFAULT_FILE)
  String config;

  @Option(names = "--host", description = "Address to listen on.")
  String host;

  @Option(names = "--port", description = "gRPC port.")
  Integer port;

  @Option(names = "--redis", description = "Redis URI, e.g. redis://127.0.0.1:6379; comma-separated for cluster nodes or sentinels.")
  String redis;

  @Option(names = "--limits", description = "The limits file.")
  String limits;

  @Option(names = "--http-port", description = "HTTP port for /metrics, /health and /admin.")
  Integer httpPort;

  @Option(names = "--redis-mode", description = "standalone (default), cluster (--redis lists nodes) or sentinel (--redis lists sentinels).")
  String redisMode;

  @Option(names = "--redis-master", description = "Sentinel mode: the master name the sentinels monitor.")
  String redisMaster;

  @Option(names = "--envoy-rules", description = "A directory of envoyproxy/ratelimit rule files: serves Envoy's rate limit service.")
  String envoyRules;

  public static void main(String[] args) {
    int exitCode = run(args);
    // Serving returns -1: the event loops keep the process alive until it is stopped.
    if (exitCode >= 0) {
      System.exit(exitCode);
    }
  }

  /** Runs a command line: a tool when the first argument names one, else the server. @return the exit code, -1 when serving */
  public static int run(String... args) {
    if (args.length > 0 && TOOLS.containsKey(args[0])) {
      CommandLine tool = new CommandLine(TOOLS.get(args[0]).get()).setCommandName("sluice " + args[0]);
      // A tool's subcommands (tier set) name themselves in full too: "Run 'sluice tier set --help'".
      tool.getSubcommands().forEach((name, sub) -> sub.setCommandName("sluice " + args[0] + " " + name));
      tool.setParameterExceptionHandler(io.sluice.cli.UnknownOptions::report);
      return tool.execute(Arrays.copyOfRange(args, 1, args.length));
    }
    // The tools are named in the help, not built: the server starts without reading them.
    CommandLine server = new CommandLine(new Main());
    server.getCommandSpec().usageMessage().footer("", "Tools: sluice <tool> [options] (sluice <tool> --help for each): "
        + String.join(", ", TOOLS.keySet()));
    return server.execute(args);
  }

  @Override
  public Integer call() {
    JsonObject flags = new JsonObject();
    SettingsLoader.putIfSet(flags, "host", host);
    SettingsLoader.putIfSet(flags, "port", port);
    SettingsLoader.putIfSet(flags, "redis", redis);
    SettingsLoader.putIfSet(flags, "limits", limits);
    SettingsLoader.putIfSet(flags, "httpPort", httpPort);
    SettingsLoader.putIfSet(flags, "envoyRules", envoyRules);
    SettingsLoader.putIfSet(flags, "redisMode", redisMode);
    SettingsLoader.putIfSet(flags, "redisMasterName", redisMaster);
    boolean explicitConfig = !SettingsLoader.DEFAULT_FILE.equals(config);
    // One Vert.x reads the settings and then runs the instance: making a second costs a launch a fifth of a second.
    Metrics metrics = new Metrics();
    Vertx vertx = Sluice.vertx(metrics);
    Settings settings;
    try {
      settings = SettingsLoader.load(vertx, explicitConfig ? config : null, System.getenv(), flags)
          .await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      System.err.println("sluice: " + e.getMessage());
      return 2;
    }
    Logs.configure(settings.ops());
    Health health = new Health(settings.failureMode());
    try {
      // The handlers come first: the ports open during the start, and a SIGTERM that arrives between
      // then and the end of the start must drain the instance too, not kill it.
      Future<Sluice> starting = Sluice.start(settings, metrics, vertx, health);
      stopGracefullyOn(starting, health, settings, "TERM");
      stopGracefullyOn(starting, health, settings, "INT");
      // The start waits for Redis at most redisStartupTimeoutMs, then fails on its own, naming why.
      starting.await(settings.redis().startupTimeoutMs() + 60_000L, TimeUnit.MILLISECONDS);
      return -1;
    } catch (Exception e) {
      if (health.stopWasRequested()) {
        // Stopped, not failed: the stop's own thread says so and exits.
        return -1;
      }
      System.err.println("sluice: cannot start: " + e.getMessage());
      return 1;
    }
  }

  /**
   * SIGTERM (and Ctrl-C) drain the instance, then exit 0: a stop that an orchestrator asked for is
   * not a failure. A JVM shutdown hook could not do this, since the JVM exits 143 after one.
   */
  @SuppressWarnings("restriction")
  private static void stopGracefullyOn(Future<Sluice> starting, Health health, Settings settings, String signal) {
    sun.misc.Signal.handle(new sun.misc.Signal(signal), received -> new Thread(() -> {
      Logger log = LoggerFactory.getLogger(Main.class);
      log.info("SIG{} received: stopping", signal);
      int exitCode = 0;
      try {
        // A start no event loop listens for yet gives up at once; one past that finishes, then drains as always.
        health.stopRequested();
        starting.recover(failed -> {
          if (!(failed instanceof Health.StoppedBeforeReady)) {
            return Future.failedFuture(failed);
          }
          log.info("{}: no check was served, nothing to drain", failed.getMessage());
          return Future.succeededFuture();
        }).compose(started -> started == null ? Future.succeededFuture() : started.stop())
            .await(settings.redis().startupTimeoutMs() + 60_000L + settings.ops().drainTimeoutMs() + 30_000L, TimeUnit.MILLISECONDS);
        log.info("stopped");
      } catch (Exception e) {
        log.warn("did not stop cleanly: {}", e.toString());
        exitCode = 1;
      }
      System.exit(exitCode);
    }, "sluice-stop").start());
  }
}
