package io.sluice.cli;

import io.sluice.limits.LimitsPublisher;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** The {@code limits}, {@code publish-limits} and {@code throttle} subcommands. */
public final class LimitsCommands {

  private LimitsCommands() {
  }

  @Command(name = "limits", mixinStandardHelpOptions = true,
      description = "Show the limits in force on an instance: version, source, digest, the document, and the last refused update.")
  public static final class Show implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Override
    public Integer call() {
      return AdminCommands.run(target, client, client -> client.getLimits(), status -> {
        JsonObject json = new JsonObject()
            .put("version", status.getVersion())
            .put("source", status.getSource())
            .put("digest", status.getDigest())
            .put("appliedAt", status.getAppliedAt())
            .put("applied", status.getApplied())
            .put("rejected", status.getRejected())
            .put("limits", new JsonObject(status.getDocumentJson()));
        if (!status.getLastRejectionReason().isEmpty()) {
          json.put("lastRejection", new JsonObject()
              .put("source", status.getLastRejectionSource())
              .put("reason", status.getLastRejectionReason())
              .put("at", status.getLastRejectionAt()));
        }
        return json.encodePrettily();
      });
    }
  }

  @Command(name = "throttle", mixinStandardHelpOptions = true,
      description = "Show the fleet's adaptive throttle: factor, p95 of the last window, target, and why it last changed.")
  public static final class Throttle implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Override
    public Integer call() {
      return AdminCommands.run(target, client, client -> client.getThrottle(), status -> {
        if (status.getSubjectsCount() == 0) {
          return "no latency reported yet: factor 1 everywhere";
        }
        StringBuilder out = new StringBuilder();
        status.getSubjectsList().forEach(subject -> out.append(String.format(java.util.Locale.ROOT,
            "subject=%s factor=%.3f p95_ms=%.1f target_ms=%.1f baseline_ms=%.1f updated_at=%s reason=\"%s\"%n",
            subject.getSubject(), subject.getFactor(), subject.getP95Ms(), subject.getTargetMs(), subject.getBaselineMs(),
            subject.getUpdatedAt(), subject.getReason())));
        return out.toString().stripTrailing();
      });
    }
  }

  @Command(name = "publish-limits", mixinStandardHelpOptions = true,
      description = "Change the limits of every instance through Redis: merges the message into the key sluice:limits "
          + "and publishes it on the channel sluice:limits, atomically.")
  public static final class Publish implements Callable<Integer> {
    @Option(names = "--redis", defaultValue = "redis://127.0.0.1:6379", description = "Redis URI (default: ${DEFAULT-VALUE}).")
    String redis;

    @Option(names = "--file", description = "Read the message from this file instead.")
    Path file;

    @Parameters(arity = "0..1", description = "The message, e.g. '{\"rules\":{\"login\":{\"capacity\":10,\"refillPerSecond\":1}}}'.")
    String message;

    @Override
    public Integer call() throws Exception {
      if ((file == null) == (message == null)) {
        System.err.println("give the message either as an argument or with --file");
        return 2;
      }
      String text = file != null ? Files.readString(file) : message;
      Vertx vertx = Vertx.vertx();
      Redis client = Redis.createClient(vertx, redis);
      try {
        long receivers = LimitsPublisher.publish(client, text).await(10, TimeUnit.SECONDS);
        System.out.println("published to " + receivers + " instance(s); stored in sluice:limits for instances that start later");
        return 0;
      } catch (Exception e) {
        System.err.println("not published: " + e.getMessage());
        return 1;
      } finally {
        client.close();
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }
}
