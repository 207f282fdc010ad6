package io.sluice.support;

import io.sluice.redis.LocalCluster;
import io.sluice.redis.LocalRedis;
import io.sluice.redis.RedisBinary;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.RedisReplicas;
import io.vertx.redis.client.RedisRole;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A real Redis for the tests, in one of the three shapes Sluice runs on: one server (a Testcontainers
 * container where a Docker engine runs, else redis-server from PATH, else the binary inside the
 * embedded-redis artifact); a Cluster of three masters; or a master and a replica watched by three
 * sentinels. The last two are redis-server processes (PATH, else embedded). {@link #uri()} is what
 * Sluice's {@code redis} setting takes, and {@link SluiceFixture} adds the mode to match.
 */
public final class TestRedis implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TestRedis.class);
  /** What a Sluice instance needs besides the URI to use a Redis of this shape, by URI. */
  private static final Map<String, JsonObject> SETTINGS_BY_URI = new ConcurrentHashMap<>();
  /** Commands of the server as a whole: in a Cluster they go to every master. */
  private static final Set<Command> EVERY_NODE = Set.of(Command.CLIENT, Command.FLUSHALL, Command.SCRIPT, Command.CONFIG);
  public static final String SENTINEL_MASTER = "mymaster";

  private final String uri;
  private final List<AutoCloseable> servers;
  private final List<Integer> dataPorts;
  private final Vertx vertx = Vertx.vertx();
  private final Redis client;
  private final List<Redis> nodeClients = new ArrayList<>();
  private final int port;
  private final RedisOptions options;

  private TestRedis(String uri, int port, List<AutoCloseable> servers, List<Integer> dataPorts, RedisOptions options, JsonObject settings) {
    this.uri = uri;
    this.port = port;
    this.servers = new ArrayList<>(servers);
    this.dataPorts = dataPorts;
    this.options = options;
    this.client = Redis.createClient(vertx, options);
    for (int dataPort : dataPorts) {
      nodeClients.add(Redis.createClient(vertx, "redis://127.0.0.1:" + dataPort));
    }
    SETTINGS_BY_URI.put(uri, settings.put("redis", uri));
  }

  /** The settings Sluice needs for the Redis at {@code uri} (the mode, the master name); empty for a standalone one. */
  public static JsonObject settingsFor(String uri) {
    JsonObject settings = SETTINGS_BY_URI.get(uri);
    return settings == null ? new JsonObject() : settings.copy();
  }

  static TestRedis start() throws IOException {
    if (dockerLikelyPresent() && DockerClientFactory.instance().isDockerAvailable()) {
      GenericContainer<?> container = new GenericContainer<>("redis:7-alpine").withExposedPorts(6379);
      container.start();
      log.info("test redis: container {}", container.getContainerId());
      String uri = "redis://" + container.getHost() + ":" + container.getMappedPort(6379);
      return new TestRedis(uri, container.getMappedPort(6379), List.of(container::stop), List.of(),
          new RedisOptions().setConnectionString(uri), new JsonObject());
    }
    Path binary = RedisBinary.resolve();
    LocalRedis local = LocalRedis.start(binary, Ports.free());
    log.info("test redis: {} on port {}", binary, local.port());
    return standalone(local);
  }

  private static TestRedis standalone(LocalRedis local) {
    return new TestRedis(local.uri(), local.port(), List.of(local), List.of(local.port()), new RedisOptions().setConnectionString(local.uri()),
        new JsonObject());
  }

  /**
   * A Redis process of the test's own, which it may stop, resume, or kill and start again empty:
   * always a local process, since signals need one.
   */
  public static TestRedis startOwn(String... moreArgs) throws IOException {
    return standalone(LocalRedis.start(RedisBinary.resolve(), Ports.free(), moreArgs));
  }

  /** A Cluster of {@code masters} masters, the slots shared out evenly, ready (cluster_state:ok on every node). */
  public static TestRedis cluster(int masters) throws Exception {
    return cluster(masters, 0);
  }

  /**
   * As {@link #cluster(int)}, each master with {@code replicasEach} replicas that take over its
   * slots when it dies. {@link #dataPorts()} are the masters'; {@link #uri()} names every node.
   */
  public static TestRedis cluster(int masters, int replicasEach) throws Exception {
    Path binary = topologyBinary("Cluster");
    Path dir = Files.createTempDirectory("sluice-cluster");
    int total = masters * (1 + replicasEach);
    List<LocalRedis> nodes = new ArrayList<>();
    try {
      for (int i = 0; i < total; i++) {
        int nodePort = Ports.free();
        nodes.add(LocalRedis.start(binary, nodePort, "--cluster-enabled", "yes", "--cluster-config-file",
            dir.resolve("nodes-" + nodePort + ".conf").toString(), "--cluster-node-timeout", "2000", "--dir", dir.toString()));
      }
      LocalCluster.form(nodes.subList(0, masters).stream().map(LocalRedis::port).toList(),
          nodes.subList(masters, total).stream().map(LocalRedis::port).toList(), 30_000);
    } catch (Exception e) {
      nodes.forEach(LocalRedis::close);
      throw e;
    }
    log.info("test redis cluster: {} masters on ports {}, {} replicas each", masters,
        nodes.subList(0, masters).stream().map(LocalRedis::port).toList(), replicasEach);
    String uri = nodes.stream().map(LocalRedis::uri).collect(Collectors.joining(","));
    return new TestRedis(uri, nodes.get(0).port(), withFolder(nodes, dir), nodes.subList(0, masters).stream().map(LocalRedis::port).toList(),
        new RedisOptions().setType(RedisClientType.CLUSTER).setUseReplicas(RedisReplicas.NEVER)
            .setClusterTransactions(io.vertx.redis.client.RedisClusterTransactions.SINGLE_NODE)
            .setEndpoints(nodes.stream().map(LocalRedis::uri).toList()),
        new JsonObject().put("redisMode", "cluster"));
  }

  /** The processes, then their folder (configuration, node tables, RDB files), removed once they are stopped. */
  private static List<AutoCloseable> withFolder(List<LocalRedis> processes, Path dir) {
    List<AutoCloseable> closing = new ArrayList<>(processes);
    closing.add(() -> {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(file -> file.toFile().delete());
      }
    });
    return closing;
  }

  /** The port of the master that serves {@code slot}, as the Cluster node on {@code askPort} sees it. */
  public int clusterMasterOf(int slot, int askPort) {
    Redis node = Redis.createClient(vertx, "redis://127.0.0.1:" + askPort);
    try {
      for (Response range : node.send(Request.cmd(Command.CLUSTER).arg("SLOTS")).await(10, TimeUnit.SECONDS)) {
        if (range.get(0).toInteger() <= slot && slot <= range.get(1).toInteger()) {
          return range.get(2).get(1).toInteger();
        }
      }
      return -1;
    } catch (Exception e) {
      throw new IllegalStateException("CLUSTER SLOTS on " + askPort + " failed", e);
    } finally {
      node.close();
    }
  }

  /** A master, a replica, and three sentinels that watch them (quorum 2, a master down after 1 s). */
  public static TestRedis sentinel() throws Exception {
    Path binary = topologyBinary("Sentinel");
    Path dir = Files.createTempDirectory("sluice-sentinel");
    List<LocalRedis> processes = new ArrayList<>();
    try {
      // A full sync writes an RDB file even without save points: into the temporary folder, not the working directory.
      LocalRedis master = LocalRedis.start(binary, Ports.free(), "--dir", dir.toString());
      processes.add(master);
      LocalRedis replica = LocalRedis.start(binary, Ports.free(), "--replicaof", "127.0.0.1", String.valueOf(master.port()),
          "--dir", dir.toString());
      processes.add(replica);
      List<LocalRedis> sentinels = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        int sentinelPort = Ports.free();
        Path config = Files.writeString(dir.resolve("sentinel-" + sentinelPort + ".conf"), String.join("\n",
            "sentinel monitor " + SENTINEL_MASTER + " 127.0.0.1 " + master.port() + " 2",
            "sentinel down-after-milliseconds " + SENTINEL_MASTER + " 1000",
            "sentinel failover-timeout " + SENTINEL_MASTER + " 3000",
            "sentinel parallel-syncs " + SENTINEL_MASTER + " 1", ""));
        LocalRedis sentinel = LocalRedis.start(binary, config, sentinelPort, "--sentinel", "--dir", dir.toString());
        processes.add(sentinel);
        sentinels.add(sentinel);
      }
      Vertx setup = Vertx.vertx();
      try {
        List<Redis> clients = sentinels.stream().map(s -> Redis.createClient(setup, s.uri())).toList();
        Await.until("sentinels that know the replica and each other", Duration.ofSeconds(30), () -> clients.stream().allMatch(c ->
            await(c.send(Request.cmd(Command.SENTINEL).arg("REPLICAS").arg(SENTINEL_MASTER))).size() == 1
                && await(c.send(Request.cmd(Command.SENTINEL).arg("SENTINELS").arg(SENTINEL_MASTER))).size() == 2));
      } finally {
        setup.close().await(10, TimeUnit.SECONDS);
      }
      log.info("test redis sentinel: master {}, replica {}, sentinels {}", master.port(), replica.port(),
          sentinels.stream().map(LocalRedis::port).toList());
      String uri = sentinels.stream().map(LocalRedis::uri).collect(Collectors.joining(","));
      return new TestRedis(uri, master.port(), withFolder(processes, dir), List.of(master.port(), replica.port()),
          new RedisOptions().setType(RedisClientType.SENTINEL).setRole(RedisRole.MASTER).setMasterName(SENTINEL_MASTER)
              .setAutoFailover(true).setEndpoints(sentinels.stream().map(LocalRedis::uri).toList()),
          new JsonObject().put("redisMode", "sentinel").put("redisMasterName", SENTINEL_MASTER));
    } catch (Exception e) {
      processes.forEach(LocalRedis::close);
      throw e;
    }
  }

  /**
   * The redis-server that a topology's processes run. A Cluster or Sentinel cannot come from a
   * container here, so where no binary can run on this machine its tests are skipped, saying what
   * is missing; anything that goes wrong after the binary runs fails them.
   */
  private static Path topologyBinary(String topology) {
    String missing;
    try {
      Path binary = RedisBinary.resolve();
      Process version = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
      version.getInputStream().readAllBytes();
      if (version.waitFor(10, TimeUnit.SECONDS) && version.exitValue() == 0) {
        return binary;
      }
      version.destroyForcibly();
      missing = binary + " does not run here (redis-server --version failed)";
    } catch (IOException e) {
      missing = "no redis-server that runs here: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      missing = "interrupted while trying redis-server";
    }
    Assumptions.abort("Redis " + topology + " tests skipped: " + missing + "; install redis-server (Debian: apt-get install redis-server)");
    throw new AssertionError("unreachable");
  }

  /** The sentinels' answer to "which node is the master", as host:port. */
  public String sentinelMaster() {
    Response reply = sentinel("get-master-addr-by-name", SENTINEL_MASTER);
    return reply.get(0) + ":" + reply.get(1);
  }

  /** A SENTINEL subcommand, asked of the first sentinel (the data nodes do not know the command). */
  public Response sentinel(Object... args) {
    Redis first = Redis.createClient(vertx, uri.split(",")[0]);
    try {
      return first.send(Request.cmd(Command.SENTINEL, args)).await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("redis SENTINEL " + args[0] + " failed", e);
    } finally {
      first.close();
    }
  }

  private static Response await(Future<Response> reply) {
    try {
      return reply.await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** SIGKILL to the data node on {@code nodePort} (a Sentinel master, say): it is gone, with no goodbye. */
  public void kill(int nodePort) {
    kill("KILL", node(nodePort).pid());
  }

  /** SIGSTOP of one node (a Cluster master that hangs while the others answer); {@link #resume(int)} undoes it. */
  public void pause(int nodePort) {
    kill("STOP", node(nodePort).pid());
  }

  public void resume(int nodePort) {
    kill("CONT", node(nodePort).pid());
  }

  private LocalRedis node(int nodePort) {
    return servers.stream().filter(server -> server instanceof LocalRedis local && local.port() == nodePort)
        .map(LocalRedis.class::cast).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no Redis process of this test on port " + nodePort));
  }

  /** SIGSTOP: Redis hangs; connections stay open, nothing is answered. */
  public void pause() {
    signal("STOP");
  }

  /** SIGCONT: Redis carries on with what it received meanwhile. */
  public void resume() {
    signal("CONT");
  }

  /** SIGKILL, then a new empty Redis on the same port: no data, no scripts. */
  public void killAndRestartEmpty() throws Exception {
    signal("KILL");
    ((LocalRedis) servers.get(0)).close();
    servers.set(0, LocalRedis.start(RedisBinary.resolve(), port));
  }

  private void signal(String name) {
    if (!(servers.get(0) instanceof LocalRedis local) || servers.size() != 1) {
      throw new IllegalStateException("only a standalone Redis of the test's own (startOwn) takes signals");
    }
    kill(name, local.pid());
  }

  private static void kill(String name, long pid) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(pid)).inheritIO().start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + name + " failed");
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Asking Testcontainers costs an ERROR log line where there is plainly no engine; skip it then. */
  private static boolean dockerLikelyPresent() {
    return System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"));
  }

  /** What Sluice's {@code redis} setting takes: one URI, or the cluster's nodes, or the sentinels. */
  public String uri() {
    return uri;
  }

  /** Client options for this Redis, whatever its shape: for a client of the test's own. */
  public RedisOptions options() {
    return new RedisOptions(options);
  }

  /** The port of the (first) data node. */
  public int port() {
    return port;
  }

  /** The ports of the data nodes: the masters of a Cluster; the master and the replica under Sentinel. */
  public List<Integer> dataPorts() {
    return dataPorts;
  }

  /**
   * Runs one command and waits for its reply: for assertions and set-up, never from an event loop.
   * In a Cluster a command goes to the master of its key; one about the server as a whole (CLIENT,
   * FLUSHALL, SCRIPT, CONFIG) goes to every master.
   */
  public Response command(Command command, Object... args) {
    try {
      if (nodeClients.size() > 1 && EVERY_NODE.contains(command) && SETTINGS_BY_URI.get(uri).containsKey("redisMode")
          && "cluster".equals(SETTINGS_BY_URI.get(uri).getString("redisMode"))) {
        Response last = null;
        for (Redis node : nodeClients) {
          last = node.send(Request.cmd(command, args)).await(10, TimeUnit.SECONDS);
        }
        return last;
      }
      return client.send(Request.cmd(command, args)).await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("redis " + command + " failed", e);
    }
  }

  /**
   * The names of the keys there are now (a standalone Redis: tests' own small keyspace). Compared
   * as sets, "nothing was written" holds while other keys expire, which a count does not.
   */
  public java.util.Set<String> keys() {
    java.util.Set<String> names = new java.util.HashSet<>();
    command(Command.KEYS, "*").forEach(name -> names.add(name.toString()));
    return names;
  }

  /** A command to the data node on {@code port} only. */
  public Response commandOn(int nodePort, Command command, Object... args) {
    Redis node = nodeClients.get(dataPorts.indexOf(nodePort));
    try {
      return node.send(Request.cmd(command, args)).await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("redis " + command + " on " + nodePort + " failed", e);
    }
  }

  /** How many times the data nodes have run a command since they started, from INFO commandstats (e.g. "evalsha"). */
  public long calls(String command) {
    long calls = 0;
    List<Redis> nodes = nodeClients.isEmpty() ? List.of(client) : nodeClients;
    for (Redis node : nodes) {
      String info;
      try {
        info = node.send(Request.cmd(Command.INFO).arg("commandstats")).await(10, TimeUnit.SECONDS).toString();
      } catch (Exception e) {
        continue;
      }
      String prefix = "cmdstat_" + command + ":calls=";
      for (String line : info.split("\r?\n")) {
        if (line.startsWith(prefix)) {
          calls += Long.parseLong(line.substring(prefix.length(), line.indexOf(',')));
        }
      }
    }
    return calls;
  }

  /** All the script calls Redis has run: a check that reached Redis raises this by at least one. */
  public long scriptCalls() {
    return calls("evalsha") + calls("eval");
  }

  @Override
  public void close() throws Exception {
    SETTINGS_BY_URI.remove(uri);
    client.close();
    nodeClients.forEach(Redis::close);
    vertx.close().await(10, TimeUnit.SECONDS);
    for (AutoCloseable server : servers) {
      server.close();
    }
  }
}
