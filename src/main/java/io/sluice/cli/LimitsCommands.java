package io.sluice.cli;

import io.sluice.config.Settings;
import io.sluice.config.SettingsLoader;
import io.sluice.limits.InvalidLimitsException;
import io.sluice.limits.LimitsStore;
import io.sluice.redis.AdminDeadline;
import io.sluice.redis.NodeClients;
import io.sluice.redis.RedisClients;
import io.sluice.redis.RedisKeys;
import io.sluice.redis.RedisTopology;
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
            .put("publishedVersion", status.getPublishedVersion())
            .put("appliedAt", status.getAppliedAt())
            .put("applied", status.getApplied())
            .put("rejected", status.getRejected())
            .put("limits", new JsonObject(status.getDocumentJson()));
        if (!status.getLastRejectionReason().isEmpty()) {
          json.put("lastRejection", new JsonObject()
              .put("source", status.getLastRejectionSource())
              .put("reason", status.getLastRejectionReason())
              .put("at", status.getLastRejectionAt())
              .put("superseded", status.getLastRejectionSuperseded()));
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
        if (!status.getSettingsJson().isEmpty()) {
          out.append("fleet settings: ").append(status.getSettingsJson());
        }
        return out.toString().stripTrailing();
      });
    }
  }

  @Command(name = "publish-limits", mixinStandardHelpOptions = true,
      description = "Change the limits of every instance through Redis: merges the message into the stored changes, checks that "
          + "the limits file with them is valid, then stores them in {sluice}:limits and publishes the message on the channel "
          + "sluice:limits, atomically. An invalid change is refused with the reasons, and nothing is stored or published.")
  public static final class Publish implements Callable<Integer> {
    @Option(names = "--redis", description = "Redis URI, or the Cluster's nodes or the sentinels, comma-separated "
        + "(default: the instances' setting: $SLUICE_REDIS, conf/application.json, else redis://127.0.0.1:6379).")
    String redis;

    @Option(names = "--redis-mode", description = "standalone, cluster or sentinel (default: the instances' setting, $SLUICE_REDIS_MODE).")
    String redisMode;

    @Option(names = "--redis-master", description = "Sentinel mode: the master name the sentinels monitor (default: $SLUICE_REDIS_MASTER_NAME).")
    String redisMaster;

    @Option(names = "--limits", defaultValue = "${env:SLUICE_LIMITS:-conf/limits.json}",
        description = "The limits file the fleet runs on, which the change must be valid on top of (default: $SLUICE_LIMITS, else conf/limits.json).")
    Path limits;

    @Option(names = "--expect-version", description = "Publish only if the stored limits are still at this version (`sluice limits` "
        + "shows it as publishedVersion; 0 when nothing was published): refused, nothing stored, if someone published meanwhile.")
    Long expectVersion;

    @Option(names = "--file", description = "Read the message from this file instead.")
    Path file;

    @Option(names = "--timeout-ms", description = "How long Redis has to take the change: one not sent by then is never sent, one "
        + "unanswered then is reported as of unknown outcome (default: the adminTimeoutMs setting, 2000).")
    Long timeoutMs;

    @Parameters(arity = "0..1", description = "The message, e.g. '{\"rules\":{\"login\":{\"capacity\":10,\"refillPerSecond\":1}}}'.")
    String message;

    @Override
    public Integer call() throws Exception {
      if (expectVersion != null && expectVersion < 0) {
        System.err.println("--expect-version must be a stored version, 0 or more; was " + expectVersion);
        return 2;
      }
      if ((file == null) == (message == null)) {
        System.err.println("give the message either as an argument or with --file");
        return 2;
      }
      if (!Files.isReadable(limits)) {
        System.err.println("not published: the limits file " + limits + " cannot be read; the change is checked on top of it "
            + "(--limits names the file the fleet runs on)");
        return 2;
      }
      String text = file != null ? Files.readString(file) : message;
      JsonObject base;
      try {
        base = new JsonObject(Files.readString(limits));
      } catch (io.vertx.core.json.DecodeException e) {
        System.err.println("not published: the limits file " + limits + " is " + io.sluice.limits.JsonSyntax.describe(e));
        return 2;
      } catch (RuntimeException e) {
        System.err.println("not published: the limits file " + limits + " is not a JSON object");
        return 2;
      }
      Vertx vertx = OneShot.vertx();
      Redis client = null;
      try {
        // Redis as the instances reach it: mode, nodes, ACL user, password and TLS from the same settings.
        JsonObject flags = new JsonObject();
        SettingsLoader.putIfSet(flags, "redis", redis);
        SettingsLoader.putIfSet(flags, "redisMode", redisMode);
        SettingsLoader.putIfSet(flags, "redisMasterName", redisMaster);
        SettingsLoader.putIfSet(flags, "adminTimeoutMs", timeoutMs);
        Settings all = SettingsLoader.load(vertx, null, System.getenv(), flags).await(10, TimeUnit.SECONDS);
        Settings.RedisSettings settings = all.redis();
        long deadlineMs = all.ops().adminTimeoutMs();
        RedisTopology topology = RedisTopology.of(vertx, settings, 5000).await(10, TimeUnit.SECONDS);
        client = RedisClients.pooled(vertx, settings, topology);
        // The deadline is the change's own (adminTimeoutMs); the await only guards against a bug in it.
        LimitsStore.Published published = LimitsStore.publish(vertx, client, text, base, deadlineMs, LimitsStore.TOOL_ACTOR,
                expectVersion == null ? LimitsStore.ANY_VERSION : expectVersion)
            .await(deadlineMs + 10_000, TimeUnit.MILLISECONDS);
        String stored = "stored as version " + published.version() + " in " + RedisKeys.LIMITS_KEY + " for instances that start later";
        long receivers;
        try {
          receivers = AdminDeadline.read(new NodeClients(vertx, settings, topology, client)
              .subscribers(RedisKeys.LIMITS_CHANNEL, published.receivers()), deadlineMs, "the instances that received it were not counted")
              .await(deadlineMs + 10_000, TimeUnit.MILLISECONDS);
        } catch (AdminDeadline.Unfinished e) {
          System.out.println("published; " + stored + "; " + e.getMessage());
          return 0;
        }
        System.out.println("published to " + receivers + " instance(s); " + stored);
        return 0;
      } catch (InvalidLimitsException e) {
        System.err.println("not published, nothing stored: " + e.getMessage());
        return 1;
      } catch (AdminDeadline.Unfinished e) {
        System.err.println((e.maybeDone() ? "perhaps published: " : "not published: ") + e.getMessage());
        return 1;
      } catch (Exception e) {
        System.err.println("not published: " + Failures.message(e));
        return 1;
      } finally {
        if (client != null) {
          client.close();
        }
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }
}
