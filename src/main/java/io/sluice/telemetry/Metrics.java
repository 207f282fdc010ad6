package io.sluice.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * The metrics of one Sluice instance, and every metric name, defined in one place (the README
 * lists them). Labels are rules, outcomes, scopes and channels, never user ids, so cardinality
 * stays bounded by the limits file. The same registry carries Vert.x's own metrics.
 */
public final class Metrics {

  public static final String DECISIONS = "sluice_decisions";
  public static final String REFUSALS = "sluice_refusals";
  /** The limits that refuse, one label value each: a rule's bucket, its calendar quota, its concurrency limit. */
  public static final java.util.List<String> LIMIT_KINDS = java.util.List.of("rate", "quota", "concurrency");
  public static final String CHECK_DURATION = "sluice_check_duration";
  public static final String CHECKS_IN_FLIGHT = "sluice_checks_in_flight";
  public static final String REDIS_CALL_DURATION = "sluice_redis_call_duration";
  public static final String REDIS_ERRORS = "sluice_redis_errors";
  public static final String DEGRADED = "sluice_degraded_decisions";
  public static final String SHED = "sluice_checks_shed";
  public static final String ABANDONED = "sluice_calls_abandoned";
  public static final String BREAKER_STATE = "sluice_redis_breaker_state";
  public static final String LIVE_INSTANCES = "sluice_live_instances";
  public static final String UNAUTHENTICATED = "sluice_unauthenticated";
  public static final String LIMITS_RELOADS = "sluice_limits_reloads";
  public static final String LIMITS_VERSION = "sluice_limits_version";
  public static final String LIMITS_PUBLISHED_VERSION = "sluice_limits_published_version";
  public static final String LIMITS_DIGEST = "sluice_limits_digest";
  /** Bans made (not "_created": Prometheus reserves that suffix for counters' creation times). */
  public static final String BANS_CREATED = "sluice_bans";
  public static final String BANS_CACHED = "sluice_bans_cached";
  public static final String BAN_LOG_DROPPED = "sluice_ban_log_dropped";
  private static final String BAN_LOG_DROPPED_HELP =
      "Bans made by rules left out of the stored history ({sluice}:bans-made): too many at once, or Redis did not take them";
  public static final String BAN_CACHE_HITS = "sluice_ban_cache_hits";
  public static final String DENIES_CACHED = "sluice_denies_cached";
  public static final String DENY_CACHE_HITS = "sluice_deny_cache_hits";
  public static final String REDIS_WRITES = "sluice_redis_writes";
  public static final String ENVOY_DESCRIPTORS = "sluice_envoy_descriptors";
  public static final String ENVOY_RELOADS = "sluice_envoy_rules_reloads";
  public static final String REDIS_COMMANDS = "sluice_redis_commands";
  public static final String REDIS_CHECKS_WRITTEN = "sluice_redis_checks_written";
  public static final String GRPC_WRITES = "sluice_grpc_writes";
  public static final String GROUPED_CHECKS = "sluice_grouped_checks";
  public static final String SHADOW_WOULD_BLOCK = "sluice_shadow_would_block";
  public static final String THROTTLE_FACTOR = "sluice_throttle_factor";
  public static final String THROTTLE_SETTINGS_DIFFER = "sluice_throttle_settings_differ";
  public static final String PUBSUB_SUBSCRIBED = "sluice_pubsub_subscribed";
  public static final String READY = "sluice_ready";
  public static final String CACHE_BYTES = "sluice_cache_bytes";
  public static final String CACHE_BUDGET_BYTES = "sluice_cache_budget_bytes";
  public static final String CACHE_EVICTIONS = "sluice_cache_evictions";
  public static final String LOG_LINES_SUPPRESSED = "sluice_log_lines_suppressed";
  public static final String CONNECTIONS_CLOSED = "sluice_connections_closed";
  public static final String CONNECTIONS_OPEN = "sluice_connections_open";
  public static final String STREAMS_REFUSED = "sluice_streams_refused";
  public static final String STREAM_LIMITS_LOWERED = "sluice_stream_limits_lowered";
  public static final String ANSWERS_WAITING = "sluice_answers_waiting";

  /** The {@code outcome} label of {@link #DECISIONS}. */
  public enum Outcome {
    ALLOW, DENY, BAN, SHADOW_WOULD_DENY, SHADOW_WOULD_BAN, DEGRADED_ALLOW, DEGRADED_DENY;

    final String label = name().toLowerCase(Locale.ROOT);
  }

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
  /** Counters by rule, then by outcome: built once per rule so that a check allocates no meter id. */
  private final Map<String, Counter[]> decisions = new ConcurrentHashMap<>();
  private final Map<String, Counter[]> refusals = new ConcurrentHashMap<>();
  private final Timer checkDuration;
  private final Timer redisCallDuration;
  private final Map<String, Counter> redisErrors = new ConcurrentHashMap<>();
  private final Map<String, Counter> degraded = new ConcurrentHashMap<>();
  private final Map<String, Counter> shed = new ConcurrentHashMap<>();
  private final Counter banCacheHits;
  private final Counter streamsRefused;
  private final Counter streamLimitsLowered;
  private final Counter denyCacheHits;
  private final Counter redisWrites;
  private final Counter redisCommandsWritten;
  private final Counter redisChecksWritten;
  private final Counter grpcWrites;
  private final Counter groupedChecks;

  /**
   * The histogram buckets of check and Redis latency: a dozen chosen bounds, where Micrometer's
   * percentile histogram keeps about seventy, and every check pays for searching them.
   */
  private static final Duration[] LATENCY_BUCKETS = Stream.of(0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0)
      .map(ms -> Duration.ofNanos((long) (ms * 1_000_000))).toArray(Duration[]::new);

  private final TopLimited topLimited = new TopLimited();

  /** The users refused most in the last minutes (the console's), beside the counters that name none. */
  public TopLimited topLimited() {
    return topLimited;
  }

  /** Stops following the collector: for metrics nobody scrapes (a warm-up's), which would otherwise listen for ever. */
  public void close() {
    gcMetrics.close();
  }

  /** Counts a refusal (or a shadow mode's would-be one) of {@code user} among the top refused; others are not counted. */
  public void refusedUser(String rule, Outcome outcome, String user) {
    if (outcome == Outcome.DENY || outcome == Outcome.BAN) {
      topLimited.refused(TopLimited.Kind.LIMITED, rule, user);
    } else if (outcome == Outcome.SHADOW_WOULD_DENY || outcome == Outcome.SHADOW_WOULD_BAN) {
      topLimited.refused(TopLimited.Kind.SHADOW, rule, user);
    }
  }

  public Metrics() {
    // The heap and the collector, as jvm_memory_used_bytes{area="heap"}, jvm_gc_pause_seconds: what
    // shows an instance running short of memory before it does.
    new JvmMemoryMetrics().bindTo(registry);
    gcMetrics.bindTo(registry);
    checkDuration = Timer.builder(CHECK_DURATION)
        .description("Time to decide a check, from the request to the answer")
        .serviceLevelObjectives(LATENCY_BUCKETS)
        .register(registry);
    redisCallDuration = Timer.builder(REDIS_CALL_DURATION)
        .description("Time of the one Redis call a check makes (EVALSHA)")
        .serviceLevelObjectives(LATENCY_BUCKETS)
        .register(registry);
    streamsRefused = Counter.builder(STREAMS_REFUSED)
        .description("gRPC streams reset with REFUSED_STREAM, unread: their connection held maxStreamsPerConnection streams already")
        .register(registry);
    streamLimitsLowered = Counter.builder(STREAM_LIMITS_LOWERED)
        .description("Times a gRPC connection was told to hold fewer streams (its share of half of maxChecksInFlight) while the instance held more than that half")
        .register(registry);
    banCacheHits = Counter.builder(BAN_CACHE_HITS)
        .description("Checks answered BAN from this instance's cache, without Redis").register(registry);
    denyCacheHits = Counter.builder(DENY_CACHE_HITS)
        .description("Checks answered DENY without Redis, while Redis's last refusal was certain to hold").register(registry);
    redisWrites = Counter.builder(REDIS_WRITES)
        .description("Socket writes to Redis on the check path: the checks of one event-loop turn share one").register(registry);
    redisCommandsWritten = Counter.builder(REDIS_COMMANDS)
        .description("Commands written to Redis on the check path (divided by writes: how many share a write)").register(registry);
    redisChecksWritten = Counter.builder(REDIS_CHECKS_WRITTEN)
        .description("Checks decided by the commands written to Redis (divided by commands: how many share a script call)")
        .register(registry);
    grpcWrites = Counter.builder(GRPC_WRITES)
        .description("Socket writes of the gRPC port: the answers of one event-loop turn share one").register(registry);
    groupedChecks = Counter.builder(GROUPED_CHECKS)
        .description("Checks decided in one script call with others that arrived in the same event-loop turn")
        .register(registry);
    startAtZero();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition of every metric. */
  public String scrape() {
    return registry.scrape();
  }

  /** One decided check: its outcome under its rule, and how long it took. */
  public void decided(String rule, Outcome outcome, long startedNanos) {
    decisions.computeIfAbsent(rule, this::decisionCounters)[outcome.ordinal()].increment();
    checkDuration.record(System.nanoTime() - startedNanos, TimeUnit.NANOSECONDS);
  }

  private Counter[] decisionCounters(String rule) {
    Counter[] counters = new Counter[Outcome.values().length];
    for (Outcome outcome : Outcome.values()) {
      counters[outcome.ordinal()] = Counter.builder(DECISIONS)
          .description("Checks decided, by rule and outcome (shadow_would_*: allowed by shadow mode; degraded_*: the failure mode answered)")
          .tag("rule", rule)
          .tag("outcome", outcome.label)
          .register(registry);
    }
    return counters;
  }

  /** A refusal (or shadow mode's would-be one) by the limit of kind {@code limitedBy} ({@link #LIMIT_KINDS}) of {@code rule}. */
  public void refused(String rule, String limitedBy) {
    int kind = LIMIT_KINDS.indexOf(limitedBy);
    if (kind < 0) {
      return;
    }
    refusals.computeIfAbsent(rule, r -> {
      Counter[] counters = new Counter[LIMIT_KINDS.size()];
      for (int i = 0; i < counters.length; i++) {
        counters[i] = Counter.builder(REFUSALS)
            .description("Refusals (and shadow mode's would-be ones) by rule and the kind of limit that refused")
            .tag("rule", r).tag("limited_by", LIMIT_KINDS.get(i)).register(registry);
      }
      return counters;
    })[kind].increment();
  }

  /**
   * The series whose labels are known before anything happens exist from the start, at 0: an alert
   * on {@code increase(...) > 0} then sees the first error as a rise (a series born at 1 shows none),
   * and the dashboard's panels show 0 rather than "no data".
   */
  private void startAtZero() {
    for (io.sluice.redis.Unavailable why : io.sluice.redis.Unavailable.values()) {
      if (why != io.sluice.redis.Unavailable.BREAKER_OPEN) {
        redisErrors.computeIfAbsent(why.label(), kind -> Counter.builder(REDIS_ERRORS)
            .description("Redis calls of checks that failed, by kind (unavailability and faults)").tag("kind", kind).register(registry));
      }
    }
    for (String reason : List.of("overload", "deadline")) {
      shed.computeIfAbsent(reason, r -> Counter.builder(SHED)
          .description("Checks refused with an error instead of a decision: overload (RESOURCE_EXHAUSTED), deadline (DEADLINE_EXCEEDED)")
          .tag("reason", r).register(registry));
    }
    for (String reason : List.of("max_connections", "streams", "slow_reader", "answers_budget")) {
      Counter.builder(CONNECTIONS_CLOSED)
          .description("gRPC connections closed to protect the instance: over maxConnections, a peer that does not read, "
              + "the budget of answers waiting spent")
          .tag("reason", reason).register(registry);
    }
    Counter.builder(ABANDONED).description("Calls whose callers gave up (reset the stream) before they were answered, by method")
        .tag("method", "sluice.v1.RateLimiter/Check").register(registry);
    Counter.builder(UNAUTHENTICATED).description("Calls refused for want of the right bearer token, by API")
        .tag("api", "http-admin").register(registry);
    Counter.builder(BAN_LOG_DROPPED).description(BAN_LOG_DROPPED_HELP).register(registry);
  }

  /** A check's Redis call answered, {@code startedNanos} after it was sent. */
  public void redisCall(long startedNanos) {
    redisCallDuration.record(System.nanoTime() - startedNanos, TimeUnit.NANOSECONDS);
  }

  /** A check's Redis call that got no usable answer: {@code timeout}, {@code disconnected}, {@code failover}, ... */
  public void redisError(String kind) {
    redisErrors.computeIfAbsent(kind, k -> Counter.builder(REDIS_ERRORS)
        .description("Redis calls of checks that failed, by kind (unavailability and faults)")
        .tag("kind", k).register(registry)).increment();
  }

  /** A check answered by its rule's failure mode because Redis was unavailable for {@code reason}. */
  public void degraded(String reason, String mode) {
    degraded.computeIfAbsent(reason + '\n' + mode, key -> Counter.builder(DEGRADED)
        .description("Checks answered by the failure mode while Redis was unavailable, by reason and failure mode")
        .tag("reason", reason).tag("mode", mode).register(registry)).increment();
  }

  /** A call refused for want of the right bearer token: {@code grpc-admin}, {@code grpc-report}, {@code http-admin}. */
  public void unauthenticated(String api) {
    Counter.builder(UNAUTHENTICATED).description("Calls refused for want of the right bearer token, by API")
        .tag("api", api).register(registry).increment();
  }

  /** A call whose caller reset its stream before the answer (gave up: a deadline of its own, a cancelled request). */
  public void abandoned(String method) {
    Counter.builder(ABANDONED).description("Calls whose callers gave up (reset the stream) before they were answered, by method")
        .tag("method", method).register(registry).increment();
  }

  /** A check refused without a decision: {@code overload} (too many in flight) or {@code deadline} (the caller's). */
  public void shed(String reason) {
    shed.computeIfAbsent(reason, r -> Counter.builder(SHED)
        .description("Checks refused with an error instead of a decision: overload (RESOURCE_EXHAUSTED), deadline (DEADLINE_EXCEEDED)")
        .tag("reason", r).register(registry)).increment();
  }

  /** A gRPC connection closed to protect the instance: {@code max_connections}, {@code slow_reader}, {@code answers_budget}. */
  public void connectionClosed(String reason) {
    Counter.builder(CONNECTIONS_CLOSED)
        .description("gRPC connections closed to protect the instance: over maxConnections, a peer that does not read, "
            + "the budget of answers waiting spent")
        .tag("reason", reason).register(registry).increment();
  }

  /** A stream reset with REFUSED_STREAM: its connection held maxStreamsPerConnection streams already. */
  public void streamRefused() {
    streamsRefused.increment();
  }

  public void streamLimitLowered() {
    streamLimitsLowered.increment();
  }

  public void banCacheHit() {
    banCacheHits.increment();
  }

  public void denyCacheHit() {
    denyCacheHits.increment();
  }

  /**
   * An Envoy descriptor answered under a limit that asks for its own series: requests_per_unit 0
   * (decided without Redis), or detailed_metric / value_to_metric, whose {@code descriptor} label
   * carries the request's values (cardinality the rule's author chose).
   */
  public void envoyDescriptor(String descriptor, String outcome) {
    Counter.builder(ENVOY_DESCRIPTORS).description("Envoy descriptors answered, by rule path (with values where the rule asks) and outcome")
        .tag("descriptor", descriptor).tag("outcome", outcome).register(registry).increment();
  }

  /** One socket write to Redis on the check path, carrying {@code commands} commands that decide {@code checks} checks. */
  public void redisWrite(int commands, int checks) {
    redisWrites.increment();
    redisCommandsWritten.increment(commands);
    redisChecksWritten.increment(checks);
  }

  /** One socket write (a flush) on a gRPC connection. */
  public void grpcWrite() {
    grpcWrites.increment();
  }

  /** {@code checks} checks decided by one script call they shared. */
  public void groupedChecks(int checks) {
    groupedChecks.increment(checks);
  }

  /** A ban created now: by a rule's abuse policy, or by an operator (rule "manual"). */
  public void banCreated(String rule, String scope) {
    Counter.builder(BANS_CREATED).description("Bans created, by rule (manual for operators' bans) and scope")
        .tag("rule", rule).tag("scope", scope).register(registry).increment();
  }

  /** Bans made by rules that the bans' history in Redis does not keep: past its bound per second, or not written. */
  public void banLogDropped(int bans) {
    Counter.builder(BAN_LOG_DROPPED).description(BAN_LOG_DROPPED_HELP).register(registry).increment(bans);
  }

  public void banLogDropped() {
    banLogDropped(1);
  }

  /** A request that shadow mode let through but enforcing would have blocked. */
  public void shadowWouldBlock(String rule, String decision) {
    Counter.builder(SHADOW_WOULD_BLOCK)
        .description("Requests that shadow mode allowed but enforcing would have denied or banned")
        .tag("rule", rule)
        .tag("decision", decision)
        .register(registry)
        .increment();
  }

  public double shadowWouldBlockCount(String rule, String decision) {
    Counter counter = registry.find(SHADOW_WOULD_BLOCK).tag("rule", rule).tag("decision", decision).counter();
    return counter == null ? 0 : counter.count();
  }

  /** Registers the gauge of one throttle subject's factor; later calls for the same subject do nothing. */
  public void throttleFactor(String subject, DoubleSupplier factor) {
    if (registry.find(THROTTLE_FACTOR).tag("subject", subject).gauge() != null) {
      return;
    }
    Gauge.builder(THROTTLE_FACTOR, factor, DoubleSupplier::getAsDouble)
        .description("The adaptive throttle factor in force (1 = not throttled)")
        .tag("subject", subject)
        .strongReference(true)
        .register(registry);
  }

  /** Gauges read when scraped: state that lives elsewhere (limits version, cache size, subscriptions, readiness). */
  public void gauge(String name, String description, DoubleSupplier value, String... tags) {
    // Strong: Micrometer holds gauge state weakly, and these suppliers have no other owner.
    Gauge.builder(name, value, DoubleSupplier::getAsDouble).description(description).tags(tags).strongReference(true)
        .register(registry);
  }

  /**
   * A counter kept elsewhere (for example the limits' applied and rejected updates), read when
   * scraped; {@code state} must live as long as the instance (Micrometer holds it weakly).
   */
  public <T> void counter(String name, String description, T state, ToDoubleFunction<T> value, String... tags) {
    FunctionCounter.builder(name, state, value).description(description).tags(tags).register(registry);
  }

  public void flag(String name, String description, BooleanSupplier value, String... tags) {
    gauge(name, description, () -> value.getAsBoolean() ? 1 : 0, tags);
  }
}
