package io.sluice.config;

import io.vertx.core.json.JsonObject;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The process settings, validated once at start. Every field has a default, a key in
 * {@code conf/application.json}, and an environment variable (see {@link SettingsLoader}). Long
 * because every setting is checked here, in one pass that reports every problem at once.
 */
public record Settings(
    String host,
    int port,
    RedisSettings redis,
    String limits,
    FailureMode failureMode,
    int grpcInstances,
    int limitsScanMs,
    int maxLimitsFileBytes,
    boolean shadow,
    int maxChecksInFlight,
    int heartbeatMs,
    int cacheHeapPercent,
    Security security,
    Throttle throttle,
    Envoy envoy,
    Ops ops,
    Connections connections) {

  /**
   * These settings for a gRPC server that only this process calls, to warm itself up: on loopback,
   * on a port the system picks, in plain text (its caller is this process, and speaks no TLS).
   */
  public Settings onLoopback() {
    Security plain = new Security(security.adminToken(), security.reportToken(), "", "", "", security.httpTls(), security.adminTokens());
    return new Settings("127.0.0.1", 0, redis, limits, failureMode, grpcInstances, limitsScanMs, maxLimitsFileBytes, shadow,
        maxChecksInFlight, heartbeatMs, cacheHeapPercent, plain, throttle, envoy, ops, connections);
  }

  /**
   * What one client may hold of the gRPC port, so that no client behaviour can exhaust an instance.
   *
   * @param maxConnections          connections the gRPC port holds at once; more are closed on arrival
   * @param maxStreamsPerConnection calls one connection may hold at once (HTTP/2 streams, from the request until its
   *                                peer took the answer): streams past it are refused unread ({@code REFUSED_STREAM})
   * @param slowReaderTimeoutMs     a connection whose peer takes none of its waiting answers this long is closed
   * @param idleTimeoutMs           a connection without any traffic this long is closed
   * @param rstFloodMax             stream resets a client may send per {@code rstFloodWindowMs} (HTTP/2 rapid reset);
   *                                past it, the connection is closed
   * @param rstFloodWindowMs        the window of {@code rstFloodMax}
   * @param warmUpCalls             calls the instance makes to its own gRPC server, over loopback, before the port listens:
   *                                its first clients meet compiled code, not the interpreter; 0 (the default, which keeps a
   *                                start under a second): none. The deploy manifests set 10,000 (about 1.5 s more to ready)
   */
  public record Connections(int maxConnections, int maxStreamsPerConnection, int slowReaderTimeoutMs,
                            int idleTimeoutMs, int rstFloodMax, int rstFloodWindowMs, int warmUpCalls) {
  }

  /**
   * Envoy's rate limit service (envoy.service.ratelimit.v3), served on the gRPC port when rule files are given.
   *
   * @param rules           a directory of envoyproxy/ratelimit rule files (*.yaml, *.yml); empty: the service is not served
   * @param algorithm       {@code token_bucket} (Sluice's buckets) or {@code fixed_window} (envoyproxy/ratelimit's numbers)
   * @param responseHeaders add RateLimit-Limit, -Remaining and -Reset to what Envoy sends back to the client
   */
  public record Envoy(String rules, String algorithm, boolean responseHeaders) {

    public boolean enabled() {
      return !rules.isEmpty();
    }
  }

  /**
   * Who may use what, and TLS on the ports. Secrets never appear in {@link #toString()}.
   *
   * @param adminToken  the bearer token of the admin APIs (gRPC Admin service and HTTP /admin); empty: both are off
   * @param reportToken the bearer token ReportLatency needs; empty: anyone who reaches the port may report
   * @param tlsCert     PEM certificate (chain) of this instance; with {@code tlsKey}, gRPC serves TLS only
   * @param tlsClientCa PEM CA that client certificates must chain to; set: gRPC requires client certificates (mTLS)
   * @param httpTls     the ops port: {@code off}, {@code tls} (the same certificate), or {@code mtls} (also client certificates)
   * @param adminTokens every admin token by its name (the actor the audit trail records): {@code adminToken}'s is "admin",
   *                    then those of {@code adminTokensFile}; empty: the admin APIs are off
   */
  public record Security(String adminToken, String reportToken, String tlsCert, String tlsKey, String tlsClientCa, String httpTls,
                         Map<String, String> adminTokens) {

    public boolean grpcTls() {
      return !tlsCert.isEmpty();
    }

    @Override
    public String toString() {
      return "Security[adminToken=" + masked(adminToken) + ", reportToken=" + masked(reportToken) + ", tlsCert=" + tlsCert
          + ", tlsKey=" + tlsKey + ", tlsClientCa=" + tlsClientCa + ", httpTls=" + httpTls + ", adminTokens=" + adminTokens.keySet() + "]";
    }
  }

  private static String masked(String secret) {
    return secret.isEmpty() ? "(none)" : "***";
  }

  /**
   * How checks reach Redis, and when Redis counts as unavailable.
   *
   * @param uri             where Redis is: one URI, or a comma-separated list (cluster nodes to start from, or the sentinels)
   * @param mode            {@code standalone}, {@code cluster} or {@code sentinel}
   * @param masterName      the master the sentinels watch (sentinel mode)
   * @param timeoutMs       how long Redis may leave a written command unanswered, while the event loop is free to
   *                        read, before it counts as unavailable (the failure mode answers, the breaker opens); and
   *                        how long a check without a deadline may wait in Sluice to be written before it is shed
   * @param poolSize        connections each event loop keeps to each Redis node (checks are pipelined on them)
   * @param breakerFailures failures in a row (timeouts, broken connections) that open the circuit breaker
   * @param breakerResetMs  how long the breaker stays open before it probes Redis again
   * @param startupTimeoutMs how long a starting instance waits for its Redis connections before it gives up (exit 1)
   */
  public record RedisSettings(String uri, String mode, String masterName, int timeoutMs, int poolSize, int breakerFailures,
                              int breakerResetMs, String user, String password, String tlsCa, int startupTimeoutMs) {

    public static final String STANDALONE = "standalone";
    public static final String CLUSTER = "cluster";
    public static final String SENTINEL = "sentinel";

    /** Whether the nodes are a Cluster's: keys are spread over its masters, and each of them hears every PUBLISH. */
    public boolean cluster() {
      return CLUSTER.equals(mode);
    }

    /** Whether the master is the one the sentinels of the setting name, followed through failovers. */
    public boolean sentinel() {
      return SENTINEL.equals(mode);
    }

    /** The first node of the setting: the one Redis of standalone mode. */
    public RedisAccess access() {
      return accesses().get(0);
    }

    /**
     * Every node of the setting, logged in as {@code redisUser} / {@code redisPassword} when those
     * are set (they win over the URIs', so the password need not travel in a URI).
     */
    public java.util.List<RedisAccess> accesses() {
      java.util.List<RedisAccess> nodes = new java.util.ArrayList<>();
      for (String one : uris()) {
        RedisAccess parsed = RedisAccess.parse(one);
        nodes.add(parsed.withCredentials(user.isEmpty() ? parsed.user() : user, password.isEmpty() ? parsed.password() : password, tlsCa));
      }
      return nodes;
    }

    /** The setting as it may be shown (a log line, an error): without any user or password a URI holds. */
    public String shownUri() {
      return uri.replaceAll("(rediss?://)[^@/,]*@", "$1");
    }

    /** The URIs of the setting, one per node. */
    public java.util.List<String> uris() {
      return listed(uri);
    }

    @Override
    public String toString() {
      return "RedisSettings[uri=" + accesses() + ", mode=" + mode + ", masterName=" + masterName + ", timeoutMs=" + timeoutMs + ", poolSize=" + poolSize + ", breakerFailures="
          + breakerFailures + ", breakerResetMs=" + breakerResetMs + ", user=" + user + ", password=" + masked(password)
          + ", tlsCa=" + tlsCa + ", startupTimeoutMs=" + startupTimeoutMs + "]";
    }
  }

  /**
   * Operations: the HTTP port for metrics, health and admin (on {@code host}, like gRPC), and how
   * the process stops and logs.
   *
   * @param drainTimeoutMs on SIGTERM, how long in-flight checks may take to finish
   * @param healthCheckMs  how often Redis and the Lua scripts are checked for readiness
   * @param logFormat      {@code text} for people, {@code json} (one object per line) for containers
   * @param logRequests    log every check (logger {@code sluice.requests}); off by default
   * @param adminTimeoutMs how long a ban or unban (gRPC Admin, HTTP /admin) may wait for Redis before it
   *                       is answered as not done, or as of unknown outcome
   * @param consoleOrigins the origins ({@code https://sluice.example.com}) the console is also served
   *                       from, through a proxy that changes the Host its requests arrive with
   * @param trustedProxies addresses of proxies in front of the ops port whose {@code X-Forwarded-For}
   *                       names the client, for the count of wrong admin tokens per client
   */
  public record Ops(int httpPort, int drainTimeoutMs, int healthCheckMs, String logFormat, boolean logRequests,
                    int adminTimeoutMs, List<String> consoleOrigins, List<String> trustedProxies) {
  }

  /**
   * Adaptive throttling: the latency window, the controller's parameters, and the optional probe.
   *
   * @param targetMs     the latency objective (p95); 0 to use {@code tolerance} x a slowly moving baseline
   * @param probeUrl     a URL to GET every {@code probeIntervalMs}, its latency a sample; empty for none
   */
  public record Throttle(int windowMs, double targetMs, double tolerance, double minFactor, double decrease,
                         double increase, int minSamples, String probeUrl, int probeIntervalMs, int probeTimeoutMs) {
  }

  /** Measured to be safe under load with pipelined connections (docs/benchmarks.md). */
  public static final int DEFAULT_REDIS_TIMEOUT_MS = 250;

  static final JsonObject DEFAULTS = new JsonObject()
      .put("host", "0.0.0.0")
      .put("port", 50051)
      .put("redis", "redis://127.0.0.1:6379")
      .put("redisMode", "standalone")
      .put("redisMasterName", "")
      .put("limits", "conf/limits.json")
      .put("redisTimeoutMs", DEFAULT_REDIS_TIMEOUT_MS)
      .put("redisPoolSize", 2)
      .put("breakerFailures", 5)
      .put("breakerResetMs", 500)
      .put("redisStartupTimeoutMs", 30_000)
      .put("failureMode", "local")
      .put("grpcInstances", 0)
      .put("limitsScanMs", 250)
      .put("maxLimitsFileBytes", 1 << 20)
      .put("shadow", false)
      .put("maxChecksInFlight", 0)
      .put("heartbeatMs", 1000)
      .put("cacheHeapPercent", 25)
      .put("throttleWindowMs", 1000)
      .put("throttleTargetMs", 0)
      .put("throttleTolerance", 2.0)
      .put("throttleMinFactor", 0.1)
      .put("throttleDecrease", 0.9)
      .put("throttleIncrease", 0.05)
      .put("throttleMinSamples", 20)
      .put("throttleProbeUrl", "")
      .put("throttleProbeIntervalMs", 100)
      .put("throttleProbeTimeoutMs", 2000)
      .put("httpPort", 8081)
      .put("adminToken", "")
      .put("adminTokenFile", "")
      .put("adminTokensFile", "")
      .put("reportToken", "")
      .put("tlsCert", "")
      .put("tlsKey", "")
      .put("tlsClientCa", "")
      .put("httpTls", "off")
      .put("redisUser", "")
      .put("redisPassword", "")
      .put("redisTlsCa", "")
      .put("drainTimeoutMs", 10_000)
      .put("adminTimeoutMs", 2_000)
      .put("consoleOrigins", "")
      .put("trustedProxies", "")
      .put("healthCheckMs", 1000)
      .put("logFormat", "text")
      .put("logRequests", false)
      .put("envoyRules", "")
      .put("envoyAlgorithm", "token_bucket")
      .put("envoyResponseHeaders", false)
      .put("maxConnections", 1000)
      .put("maxStreamsPerConnection", 16)
      .put("slowReaderTimeoutMs", 5000)
      .put("idleTimeoutMs", 300_000)
      .put("rstFloodMax", 200)
      .put("rstFloodWindowMs", 30_000)
      .put("warmUpCalls", 0);

  /** Every setting with its default: the names a file, a flag or a {@code SLUICE_} variable may set. */
  public static JsonObject defaults() {
    return DEFAULTS.copy();
  }

  /** Builds settings from merged JSON; every problem is reported at once, naming the key. */
  public static Settings fromJson(JsonObject json) {
    List<String> problems = new ArrayList<>();
    Set<String> unknown = new java.util.TreeSet<>(json.fieldNames());
    unknown.removeAll(DEFAULTS.fieldNames());
    for (String key : unknown) {
      problems.add("unknown setting '" + key + "' (known: " + String.join(", ", new java.util.TreeSet<>(DEFAULTS.fieldNames())) + ")");
    }
    JsonObject merged = DEFAULTS.copy().mergeIn(json);
    Settings settings = new Settings(
        text(merged, "host", problems),
        integer(merged, "port", 1, 65535, problems),
        redisSettings(merged, problems),
        text(merged, "limits", problems),
        failureMode(merged, problems),
        integer(merged, "grpcInstances", 0, 1024, problems),
        integer(merged, "limitsScanMs", 10, 60_000, problems),
        integer(merged, "maxLimitsFileBytes", 1024, 64 << 20, problems),
        bool(merged, "shadow", problems),
        integer(merged, "maxChecksInFlight", 0, 10_000_000, problems),
        integer(merged, "heartbeatMs", 100, 60_000, problems),
        integer(merged, "cacheHeapPercent", 1, 60, problems),
        security(merged, problems),
        new Throttle(
            integer(merged, "throttleWindowMs", 50, 600_000, problems),
            number(merged, "throttleTargetMs", 0, 600_000, problems),
            number(merged, "throttleTolerance", 1.01, 100, problems),
            number(merged, "throttleMinFactor", 0.01, 1, problems),
            number(merged, "throttleDecrease", 0.01, 0.99, problems),
            number(merged, "throttleIncrease", 0.001, 1, problems),
            integer(merged, "throttleMinSamples", 1, 1_000_000, problems),
            probeUrl(merged, problems),
            integer(merged, "throttleProbeIntervalMs", 10, 600_000, problems),
            integer(merged, "throttleProbeTimeoutMs", 10, 600_000, problems)),
        envoy(merged, problems),
        new Ops(
            integer(merged, "httpPort", 1, 65535, problems),
            integer(merged, "drainTimeoutMs", 0, 600_000, problems),
            integer(merged, "healthCheckMs", 10, 600_000, problems),
            oneOf(merged, "logFormat", List.of("text", "json"), problems),
            bool(merged, "logRequests", problems),
            integer(merged, "adminTimeoutMs", 100, 60_000, problems),
            origins(merged, "consoleOrigins", problems),
            addresses(merged, "trustedProxies", problems)),
        new Connections(
            integer(merged, "maxConnections", 1, 1_000_000, problems),
            integer(merged, "maxStreamsPerConnection", 1, 100_000, problems),
            integer(merged, "slowReaderTimeoutMs", 100, 600_000, problems),
            integer(merged, "idleTimeoutMs", 1000, 86_400_000, problems),
            integer(merged, "rstFloodMax", 1, 1_000_000, problems),
            integer(merged, "rstFloodWindowMs", 100, 600_000, problems),
            integer(merged, "warmUpCalls", 0, 1_000_000, problems)));
    if (settings.port() == settings.ops().httpPort()) {
      // Vert.x lets servers of one instance share a port and takes turns between them: gRPC calls
      // would be answered by the HTTP server now and then, and HTTP requests by gRPC.
      problems.add("port and httpPort must differ, both were " + settings.port());
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid settings: " + String.join("; ", problems));
    }
    return settings;
  }

  private static String text(JsonObject json, String key, List<String> problems) {
    Object value = json.getValue(key);
    if (value instanceof String s && !s.isBlank()) {
      return s;
    }
    problems.add(key + " must be a non-empty string, was " + describe(value));
    return null;
  }

  private static Security security(JsonObject json, List<String> problems) {
    String adminToken = adminToken(json, problems);
    Security security = new Security(adminToken,
        token(json, "reportToken", "anyone may report latency", problems),
        readableFile(json, "tlsCert", problems), readableFile(json, "tlsKey", problems), readableFile(json, "tlsClientCa", problems),
        oneOf(json, "httpTls", List.of("off", "tls", "mtls"), problems), adminTokens(json, adminToken, problems));
    if (security.tlsCert().isEmpty() != security.tlsKey().isEmpty()) {
      problems.add("tlsCert and tlsKey must be set together (a PEM certificate and its private key)");
    }
    if (!security.tlsClientCa().isEmpty() && security.tlsCert().isEmpty()) {
      problems.add("tlsClientCa (client certificates) needs TLS: set tlsCert and tlsKey too");
    }
    if (!"off".equals(security.httpTls()) && security.tlsCert().isEmpty()) {
      problems.add("httpTls " + security.httpTls() + " needs tlsCert and tlsKey");
    }
    if ("mtls".equals(security.httpTls()) && security.tlsClientCa().isEmpty()) {
      problems.add("httpTls mtls needs tlsClientCa, the CA client certificates must chain to");
    }
    return security;
  }

  private static Envoy envoy(JsonObject json, List<String> problems) {
    String rules = optionalText(json, "envoyRules");
    if (!rules.isEmpty() && !Files.isDirectory(Path.of(rules))) {
      problems.add("envoyRules must name a directory of rule files, was '" + rules + "'");
    }
    return new Envoy(rules, oneOf(json, "envoyAlgorithm", List.of("token_bucket", "fixed_window"), problems),
        bool(json, "envoyResponseHeaders", problems));
  }

  /**
   * The admin token, given itself or as a file that holds it (a Docker or Kubernetes secret, the
   * file {@code scripts/fleet.sh} and compose generate), so that it appears in no environment.
   */
  private static String adminToken(JsonObject json, List<String> problems) {
    String file = optionalText(json, "adminTokenFile");
    if (file.isEmpty()) {
      return token(json, "adminToken", "admin APIs off", problems);
    }
    if (!optionalText(json, "adminToken").isEmpty()) {
      problems.add("adminToken and adminTokenFile are both set: set one");
      return "";
    }
    try {
      // Read once at start, before anything serves; the newline an editor or echo leaves is not part of it.
      String token = Files.readString(Path.of(file)).strip();
      if (token.isEmpty()) {
        problems.add("adminTokenFile " + file + " is empty: write the token into it, or unset adminTokenFile to turn the admin APIs off");
      }
      return checkedToken("the token in adminTokenFile " + file, token, "admin APIs off", problems);
    } catch (java.io.IOException | RuntimeException e) {
      problems.add("adminTokenFile must name a readable file holding the admin token, was '" + file + "'");
      return "";
    }
  }

  /**
   * A name the audit trail records as who acted: short, and nothing a log or a terminal could misread.
   * Names are at most 32 characters and named tokens at least 33, so that a line with its columns
   * swapped is refused rather than taken, which would make the token a name shown to everyone.
   */
  private static final java.util.regex.Pattern TOKEN_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9._@-]{1,32}");
  private static final int MIN_NAMED_TOKEN = 33;

  /**
   * Every admin token by name: {@code adminToken}'s (or {@code adminTokenFile}'s) is "admin"; {@code
   * adminTokensFile} holds more, one {@code <name> <token>} a line ({@code #} begins a comment), so
   * that each operator, team or tool has its own and the audit trail says who acted.
   */
  private static Map<String, String> adminTokens(JsonObject json, String adminToken, List<String> problems) {
    Map<String, String> tokens = new LinkedHashMap<>();
    if (!adminToken.isEmpty()) {
      tokens.put("admin", adminToken);
    }
    String file = optionalText(json, "adminTokensFile");
    if (file.isEmpty()) {
      return Map.copyOf(tokens);
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(Path.of(file));
    } catch (java.io.IOException | RuntimeException e) {
      problems.add("adminTokensFile must name a readable file of '<name> <token>' lines, was '" + file + "'");
      return Map.copyOf(tokens);
    }
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      // Never a part of the line in a message: either may be the secret, when the columns are swapped.
      String where = "adminTokensFile " + file + " line " + (i + 1);
      String[] parts = line.split("\\s+");
      if (parts.length != 2 || !TOKEN_NAME.matcher(parts[0]).matches()) {
        problems.add(where + " must be '<name> <token>', a name of 1 to 32 letters, digits or . _ @ - and a token without spaces");
      } else if (tokens.containsKey(parts[0])) {
        problems.add(where + ": its name is given twice" + ("admin".equals(parts[0]) ? " (adminToken is named admin)" : ""));
      } else if (tokens.containsValue(parts[1])) {
        problems.add(where + ": its token is another name's too, so the audit trail could not tell who acted");
      } else if (parts[1].length() < MIN_NAMED_TOKEN) {
        problems.add(where + ": its token must be at least " + MIN_NAMED_TOKEN + " characters (openssl rand -hex 24 makes one), was "
            + parts[1].length());
      } else {
        tokens.put(parts[0], parts[1]);
      }
    }
    if (tokens.size() == (adminToken.isEmpty() ? 0 : 1)) {
      problems.add("adminTokensFile " + file + " holds no token: write '<name> <token>' lines into it, or unset it");
    }
    return java.util.Collections.unmodifiableMap(tokens);
  }

  private static String token(JsonObject json, String key, String whenEmpty, List<String> problems) {
    return checkedToken(key, optionalText(json, key), whenEmpty, problems);
  }

  private static String checkedToken(String key, String token, String whenEmpty, List<String> problems) {
    if (!token.isEmpty() && token.length() < 16) {
      // Short tokens are guessable; say so at start rather than run an API anyone can open.
      problems.add(key + " must be empty (" + whenEmpty + ") or at least 16 characters, was " + token.length() + " characters");
    }
    return token;
  }

  /**
   * Origins, comma-separated, each a scheme and host with an optional port and nothing else, as a
   * browser's Origin header spells it ({@code https://sluice.example.com}, {@code http://10.0.0.5:8081}).
   */
  private static List<String> origins(JsonObject json, String key, List<String> problems) {
    List<String> origins = new ArrayList<>();
    for (String origin : listed(optionalText(json, key))) {
      String trimmed = origin.toLowerCase(java.util.Locale.ROOT);
      if (!trimmed.matches("https?://[A-Za-z0-9.\\-]+(:[0-9]{1,5})?|https?://\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?")) {
        problems.add(key + " must list origins such as https://sluice.example.com (a scheme, a host, an optional port; no path), was '"
            + trimmed + "'");
        continue;
      }
      // As browsers spell an origin: without the scheme's own port.
      origins.add(trimmed.replaceFirst("^(https://[^/]+):443$", "$1")
          .replaceFirst("^(http://[^/]+):80$", "$1"));
    }
    return List.copyOf(origins);
  }

  /** An IPv4 or IPv6 address as written, not a name: what is parsed without a lookup. */
  public static boolean isIpLiteral(String address) {
    return address.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") || (address.contains(":") && address.matches("[0-9A-Za-z:.%]+"));
  }

  /** The items of a comma-separated setting, each without surrounding spaces; empty ones are none. */
  static List<String> listed(String text) {
    return java.util.Arrays.stream(text.split(",")).map(String::strip).filter(one -> !one.isEmpty()).toList();
  }

  /** IP addresses, comma-separated: literals only, never names to look up. */
  private static List<String> addresses(JsonObject json, String key, List<String> problems) {
    List<String> addresses = new ArrayList<>();
    for (String trimmed : listed(optionalText(json, key))) {
      if (!isIpLiteral(trimmed)) {
        problems.add(key + " must list IP addresses such as 10.0.0.7 or fd00::7, was '" + trimmed + "'");
        continue;
      }
      addresses.add(trimmed);
    }
    return List.copyOf(addresses);
  }

  private static String optionalText(JsonObject json, String key) {
    Object value = json.getValue(key);
    return value == null ? "" : String.valueOf(value);
  }

  /** A file the process must read at start; empty when not set. */
  private static String readableFile(JsonObject json, String key, List<String> problems) {
    String path = optionalText(json, key);
    if (!path.isEmpty() && !Files.isReadable(Path.of(path))) {
      problems.add(key + " must name a readable file, was '" + path + "'");
    }
    return path;
  }


  private static String oneOf(JsonObject json, String key, List<String> allowed, List<String> problems) {
    Object value = json.getValue(key);
    if (value instanceof String s && allowed.contains(s.toLowerCase(java.util.Locale.ROOT))) {
      return s.toLowerCase(java.util.Locale.ROOT);
    }
    problems.add(key + " must be one of " + allowed + ", was " + describe(value));
    return allowed.get(0);
  }

  private static RedisSettings redisSettings(JsonObject json, List<String> problems) {
    String uri = text(json, "redis", problems);
    String mode = oneOf(json, "redisMode", List.of(RedisSettings.STANDALONE, RedisSettings.CLUSTER, RedisSettings.SENTINEL), problems);
    RedisSettings redis = new RedisSettings(uri == null ? "redis://127.0.0.1:6379" : uri, mode, optionalText(json, "redisMasterName"),
        integer(json, "redisTimeoutMs", 1, 60_000, problems),
        integer(json, "redisPoolSize", 1, 64, problems),
        integer(json, "breakerFailures", 1, 1_000_000, problems),
        integer(json, "breakerResetMs", 10, 600_000, problems),
        optionalText(json, "redisUser"),
        optionalText(json, "redisPassword"),
        readableFile(json, "redisTlsCa", problems),
        integer(json, "redisStartupTimeoutMs", 100, 600_000, problems));
    if (uri != null) {
      for (String one : redis.uris()) {
        try {
          RedisAccess.parse(one);
        } catch (IllegalArgumentException e) {
          problems.add(e.getMessage());
        }
      }
      if (redis.uris().isEmpty()) {
        problems.add("redis must name at least one redis:// or rediss:// URI");
      } else if (RedisSettings.STANDALONE.equals(mode) && redis.uris().size() > 1) {
        problems.add("redis names " + redis.uris().size() + " nodes: set redisMode to cluster (its nodes) or sentinel (the sentinels), "
            + "or give one URI for a standalone Redis");
      }
    }
    if (RedisSettings.SENTINEL.equals(mode) && redis.masterName().isEmpty()) {
      problems.add("redisMode sentinel needs redisMasterName, the name the sentinels monitor the master under");
    }
    return redis;
  }

  private static int integer(JsonObject json, String key, int min, int max, List<String> problems) {
    Object value = json.getValue(key);
    long parsed;
    if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      parsed = n.longValue();
    } else if (value instanceof String s && s.matches("-?\\d{1,10}")) {
      parsed = Long.parseLong(s);
    } else {
      problems.add(key + " must be an integer from " + min + " to " + max + ", was " + describe(value));
      return 0;
    }
    if (parsed < min || parsed > max) {
      problems.add(key + " must be an integer from " + min + " to " + max + ", was " + parsed);
      return 0;
    }
    return (int) parsed;
  }

  private static double number(JsonObject json, String key, double min, double max, List<String> problems) {
    Object value = json.getValue(key);
    double parsed;
    try {
      parsed = value instanceof Number n ? n.doubleValue() : Double.parseDouble(String.valueOf(value));
    } catch (NumberFormatException e) {
      parsed = Double.NaN;
    }
    if (!(parsed >= min && parsed <= max)) {
      problems.add(key + " must be a number from " + min + " to " + max + ", was " + describe(value));
      return 0;
    }
    return parsed;
  }

  private static String probeUrl(JsonObject json, List<String> problems) {
    Object value = json.getValue("throttleProbeUrl");
    String url = value == null ? "" : String.valueOf(value);
    if (!url.isEmpty() && !(url.startsWith("http://") || url.startsWith("https://"))) {
      problems.add("throttleProbeUrl must be empty or an http:// or https:// URL, was " + describe(value));
    }
    return url;
  }

  private static boolean bool(JsonObject json, String key, List<String> problems) {
    Object value = json.getValue(key);
    if (value instanceof Boolean b) {
      return b;
    }
    if ("true".equalsIgnoreCase(String.valueOf(value)) || "false".equalsIgnoreCase(String.valueOf(value))) {
      return Boolean.parseBoolean(String.valueOf(value));
    }
    problems.add(key + " must be true or false, was " + describe(value));
    return false;
  }

  private static FailureMode failureMode(JsonObject json, List<String> problems) {
    Object value = json.getValue("failureMode");
    FailureMode mode = FailureMode.parse(value);
    if (mode == null) {
      problems.add("failureMode must be 'open', 'closed' or 'local' ('allow' and 'deny' still mean open and closed), was "
          + describe(value));
    }
    return mode;
  }

  private static String describe(Object value) {
    return value instanceof String s ? "'" + s + "'" : String.valueOf(value);
  }
}
