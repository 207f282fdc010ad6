package io.sluice;

import io.sluice.cli.AdminCommands;
import io.sluice.cli.CheckCommand;
import io.sluice.cli.LimitsCommands;
import io.sluice.cli.RedisBinaryCommand;
import io.sluice.config.Settings;
import io.sluice.config.SettingsLoader;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar sluice.jar [flags]} serves; subcommands are tools around the service.
 */
@Command(name = "sluice", mixinStandardHelpOptions = true, version = "sluice 0.1.0",
    description = "Distributed rate limiter and abuse detection. With no subcommand, serves gRPC.",
    subcommands = {CheckCommand.class, AdminCommands.List.class, AdminCommands.Ban.class, AdminCommands.Unban.class,
        LimitsCommands.Show.class, LimitsCommands.Publish.class, LimitsCommands.Throttle.class, RedisBinaryCommand.class})
public final class Main implements Callable<Integer> {

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  @Option(names = "--config", description = "Settings file (default: ${DEFAULT-VALUE} if present).", defaultValue = SettingsLoader.DEFAULT_FILE)
  String config;

  @Option(names = "--host", description = "Address to listen on.")
  String host;

  @Option(names = "--port", description = "gRPC port.")
  Integer port;

  @Option(names = "--redis", description = "Redis URI, e.g. redis://127.0.0.1:6379.")
  String redis;

  @Option(names = "--limits", description = "The limits file.")
  String limits;

  public static void main(String[] args) {
    CommandLine commandLine = new CommandLine(new Main());
    int exitCode = commandLine.execute(args);
    // Serving returns -1: the event loops keep the process alive until it is stopped.
    if (exitCode >= 0) {
      System.exit(exitCode);
    }
  }

  @Override
  public Integer call() {
    JsonObject flags = new JsonObject();
    putIfSet(flags, "host", host);
    putIfSet(flags, "port", port);
    putIfSet(flags, "redis", redis);
    putIfSet(flags, "limits", limits);
    boolean explicitConfig = !SettingsLoader.DEFAULT_FILE.equals(config);
    Vertx bootstrap = Vertx.vertx();
    Settings settings;
    try {
      settings = SettingsLoader.load(bootstrap, explicitConfig ? config : null, System.getenv(), flags)
          .await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("sluice: " + e.getMessage());
      return 2;
    } finally {
      bootstrap.close();
    }
    try {
      Sluice sluice = Sluice.start(settings).await(60, TimeUnit.SECONDS);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        log.info("stopping");
        try {
          sluice.stop().await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
          log.warn("did not stop cleanly: {}", e.toString());
        }
      }, "sluice-shutdown"));
      return -1;
    } catch (Exception e) {
      System.err.println("sluice: cannot start: " + e.getMessage());
      return 1;
    }
  }

  private static void putIfSet(JsonObject json, String key, Object value) {
    if (value != null) {
      json.put(key, value);
    }
  }
}
