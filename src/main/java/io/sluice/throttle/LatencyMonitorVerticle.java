package io.sluice.throttle;

import io.sluice.config.Settings;
import io.sluice.limiter.ThrottleFactors;
import io.sluice.limits.Limits;
import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisClients;
import io.sluice.redis.RedisTopology;
import io.sluice.redis.RedisKeys;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Adaptive throttling, wired: probes the backend if configured, and every window either runs the
 * {@link ThrottleController} for the fleet (when this instance holds the lease) or not, then reads
 * the factors the fleet uses into {@link ThrottleFactors}. The factor lives in Redis, so every
 * instance throttles alike; checks read the local copy and pay no extra round trip.
 */
public final class LatencyMonitorVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(LatencyMonitorVerticle.class);
  private static final int LEASE_WINDOWS = 3;
  /** Connections the probe's client may open to the backend, and so probes in flight at once. */
  private static final int PROBE_CONNECTIONS = 5;

  private final Settings.Throttle settings;
  private final Settings processSettings;
  private final RedisTopology topology;
  private final ThrottleFactors factors;
  private final Supplier<Limits> limits;
  private final Metrics metrics;
  private final ThrottleController controller;
  /** This instance's settings of the controller, as the fleet compares them: one fleet, one set in force. */
  private final String controllerSettings;
  private final ThinWindows thinWindows;
  /** The fleet's settings last found to differ from this instance's, so that a difference is logged once. */
  private String differenceLogged = "";
  /** Read by the metrics scrape, on another thread. */
  private volatile boolean settingsDiffer;
  private final LuaScript leaseScript = LuaScript.load("throttle_lead");
  private final String instanceId;
  /** The controller state per subject while this instance leads; reloaded from Redis when it starts leading. */
  private final Map<String, ThrottleController.State> states = new HashMap<>();
  private Redis redis;
  private HttpClient probeClient;
  private boolean leading;
  private long windowTimer = -1;
  private long probeTimer = -1;
  private int probesInFlight;

  public LatencyMonitorVerticle(Settings settings, Supplier<Limits> limits, ThrottleFactors factors, Metrics metrics, String instanceId,
                                RedisTopology topology) {
    this.topology = topology;
    this.instanceId = instanceId;
    this.processSettings = settings;
    this.settings = settings.throttle();
    this.limits = limits;
    this.factors = factors;
    this.metrics = metrics;
    this.controller = new ThrottleController(new ThrottleController.Config(
        this.settings.targetMs(), this.settings.tolerance(), this.settings.minFactor(), this.settings.decrease(),
        this.settings.increase(), 0.8, 2, this.settings.minSamples(), 0.05));
    this.controllerSettings = controllerSettings(this.settings).encode();
    this.thinWindows = new ThinWindows(this.settings.minSamples());
  }

  /**
   * What must be the same on every instance for the fleet to throttle as one. The probe is not among
   * them: each instance probes the backend as it reaches it.
   */
  static JsonObject controllerSettings(Settings.Throttle settings) {
    return new JsonObject()
        .put("throttleWindowMs", settings.windowMs())
        .put("throttleTargetMs", settings.targetMs())
        .put("throttleTolerance", settings.tolerance())
        .put("throttleMinFactor", settings.minFactor())
        .put("throttleDecrease", settings.decrease())
        .put("throttleIncrease", settings.increase())
        .put("throttleMinSamples", settings.minSamples());
  }

  @Override
  public Future<?> start() {
    redis = RedisClients.pooled(vertx, processSettings, topology);
    metrics.throttleFactor(ThrottleFactors.BACKEND, () -> factors.of(ThrottleFactors.BACKEND));
    metrics.flag(Metrics.THROTTLE_SETTINGS_DIFFER,
        "1 while this instance's throttle settings differ from those the fleet's controller runs with", () -> settingsDiffer);
    windowTimer = vertx.setPeriodic(settings.windowMs(), timer -> tick());
    if (!settings.probeUrl().isEmpty()) {
      probeClient = vertx.createHttpClient(new PoolOptions().setHttp1MaxSize(PROBE_CONNECTIONS).setHttp2MaxSize(1));
      probeTimer = vertx.setPeriodic(settings.probeIntervalMs(), timer -> probe());
      log.info("probing {} every {} ms for adaptive throttling", settings.probeUrl(), settings.probeIntervalMs());
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    // Timers outlive an undeployment otherwise, and would fire on closed clients.
    vertx.cancelTimer(windowTimer);
    vertx.cancelTimer(probeTimer);
    return probeClient == null ? redis.close() : probeClient.close().eventually(redis::close);
  }

  private void tick() {
    if (!limits.get().anyAdaptive()) {
      // Nothing would follow the factor: no lease, no Redis work, and a stale factor is not applied.
      if (leading || !factors.all().isEmpty()) {
        leading = false;
        factors.replace(Map.of());
      }
      return;
    }
    leaseScript.call(redis, 3, RedisKeys.THROTTLE_LEADER, RedisKeys.THROTTLE_SETTINGS, RedisKeys.THROTTLE_CANDIDATES,
            instanceId, (long) settings.windowMs() * LEASE_WINDOWS, controllerSettings)
        .compose(held -> {
          boolean leadsNow = held.get(0).toInteger() == 1;
          compareSettings(held.get(1).toString());
          if (leadsNow && !leading) {
            states.clear();
            thinWindows.clear();
            log.info("this instance now runs the fleet's throttle controller");
          }
          leading = leadsNow;
          return leading ? control() : Future.succeededFuture();
        })
        .compose(done -> readFactors())
        .onFailure(e -> log.debug("throttle window skipped: {}", e.toString()));
  }

  /** Says, once per difference, when the fleet's controller runs with settings other than this instance's. */
  private void compareSettings(String inForce) {
    boolean differ = !inForce.isEmpty() && !inForce.equals(controllerSettings);
    settingsDiffer = differ;
    if (!differ) {
      differenceLogged = "";
      return;
    }
    if (inForce.equals(differenceLogged)) {
      return;
    }
    differenceLogged = inForce;
    JsonObject fleet;
    try {
      fleet = new JsonObject(inForce);
    } catch (RuntimeException e) {
      // Not written by an instance: every setting differs, and the window goes on.
      fleet = new JsonObject();
    }
    JsonObject own = new JsonObject(controllerSettings);
    List<String> differences = new ArrayList<>();
    for (String name : own.fieldNames()) {
      if (!String.valueOf(own.getValue(name)).equals(String.valueOf(fleet.getValue(name)))) {
        differences.add(name + " " + own.getValue(name) + " here, " + fleet.getValue(name) + " in force");
      }
    }
    log.warn("this instance's throttle settings differ from those the fleet's controller runs with ({}): it runs the controller "
        + "only once no instance with those is live; give every instance the same settings", String.join(", ", differences));
  }

  /** One window of the controller: drain every subject's samples, evaluate, publish the factors. */
  private Future<Void> control() {
    return redis.send(Request.cmd(Command.SMEMBERS).arg(RedisKeys.THROTTLE_SUBJECTS))
        .compose(members -> {
          List<String> subjects = new ArrayList<>();
          List<String> stale = new ArrayList<>();
          Limits current = limits.get();
          members.forEach(member -> (isSubject(member.toString(), current) ? subjects : stale).add(member.toString()));
          Future<Void> pruned = stale.isEmpty() ? Future.succeededFuture() : prune(stale);
          if (subjects.isEmpty()) {
            return pruned;
          }
          List<Request> batch = new ArrayList<>();
          batch.add(Request.cmd(Command.HMGET).arg(RedisKeys.THROTTLE_STATE));
          subjects.forEach(subject -> batch.get(0).arg(subject));
          batch.add(Request.cmd(Command.MULTI));
          for (String subject : subjects) {
            batch.add(Request.cmd(Command.LRANGE).arg(RedisKeys.throttleSamples(subject)).arg(0).arg(-1));
            batch.add(Request.cmd(Command.DEL).arg(RedisKeys.throttleSamples(subject)));
          }
          batch.add(Request.cmd(Command.EXEC));
          return redis.connect().compose(connection -> connection.batch(batch).eventually(connection::close))
              .compose(replies -> evaluate(subjects, replies.get(0), replies.get(replies.size() - 1)));
        });
  }

  /** The whole backend, or an action that has a rule: only those are throttled, so only those are kept. */
  static boolean isSubject(String subject, Limits limits) {
    return ThrottleFactors.BACKEND.equals(subject) || limits.rules().containsKey(subject);
  }

  /** Subjects whose rule went away: their samples, factor and state go too, so reporters cannot grow Redis state. */
  private Future<Void> prune(List<String> stale) {
    Request forget = Request.cmd(Command.SREM).arg(RedisKeys.THROTTLE_SUBJECTS);
    Request samples = Request.cmd(Command.DEL);
    Request factors = Request.cmd(Command.HDEL).arg(RedisKeys.THROTTLE_FACTORS);
    Request state = Request.cmd(Command.HDEL).arg(RedisKeys.THROTTLE_STATE);
    for (String subject : stale) {
      forget.arg(subject);
      samples.arg(RedisKeys.throttleSamples(subject));
      factors.arg(subject);
      state.arg(subject);
      states.remove(subject);
      thinWindows.forget(subject);
    }
    log.info("throttle subjects without a rule dropped: {}", stale);
    return redis.batch(List.of(forget, samples, factors, state)).mapEmpty();
  }

  private Future<Void> evaluate(List<String> subjects, Response storedStates, Response drained) {
    List<Request> writes = new ArrayList<>();
    Request factorWrite = Request.cmd(Command.HSET).arg(RedisKeys.THROTTLE_FACTORS);
    Request stateWrite = Request.cmd(Command.HSET).arg(RedisKeys.THROTTLE_STATE);
    String now = Instant.now().toString();
    boolean judged = false;
    for (int i = 0; i < subjects.size(); i++) {
      String subject = subjects.get(i);
      Response samples = drained.get(2 * i);
      double[] window = new double[samples.size()];
      for (int j = 0; j < window.length; j++) {
        window[j] = samples.get(j).toDouble();
      }
      double[] values = thinWindows.judge(subject, window);
      if (values == null) {
        continue;
      }
      judged = true;
      Response stored = storedStates.get(i);
      ThrottleController.State before = states.computeIfAbsent(subject,
          unknown -> ThrottleReport.state(stored == null ? null : stored.toString()));
      ThrottleController.State after = controller.next(before, LatencyWindow.percentile(values, 0.95), values.length);
      states.put(subject, after);
      if (after.factor() != before.factor()) {
        log.warn("throttle factor of {} {} -> {}: {}", subject, before.factor(), after.factor(), after.reason());
      }
      factorWrite.arg(subject).arg(after.factor());
      stateWrite.arg(subject).arg(ThrottleReport.encode(after, values.length, now));
    }
    if (!judged) {
      return Future.succeededFuture();
    }
    writes.add(factorWrite);
    writes.add(stateWrite);
    return redis.batch(writes).mapEmpty();
  }

  private Future<Void> readFactors() {
    return redis.send(Request.cmd(Command.HGETALL).arg(RedisKeys.THROTTLE_FACTORS)).map(reply -> {
      Map<String, Double> next = new HashMap<>();
      if (reply != null) {
        for (String subject : reply.getKeys()) {
          next.put(subject, reply.get(subject).toDouble());
        }
      }
      factors.replace(next);
      // Subjects are actions that backends name: only those with a rule get a gauge, so labels stay bounded.
      next.keySet().stream()
          .filter(subject -> limits.get().rules().containsKey(subject))
          .forEach(subject -> metrics.throttleFactor(subject, () -> factors.of(subject)));
      return null;
    });
  }

  private void probe() {
    if (!limits.get().anyAdaptive() || probesInFlight >= PROBE_CONNECTIONS) {
      // Probes waiting for a connection of the client's pool would time their own queueing as the
      // backend's latency; those in flight already tell how slow it is.
      return;
    }
    probesInFlight++;
    long started = System.nanoTime();
    probeClient.request(new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(settings.probeUrl())
            .setTimeout(settings.probeTimeoutMs()))
        .compose(request -> request.send().compose(response -> response.body()))
        .onComplete(done -> {
          probesInFlight--;
          // A backend that does not answer is as slow as the probe's patience.
          double ms = done.succeeded() ? (System.nanoTime() - started) / 1e6 : settings.probeTimeoutMs();
          LatencySamples.record(redis, ThrottleFactors.BACKEND, List.of(ms));
        });
  }
}
