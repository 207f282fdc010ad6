package io.sluice.support;

import io.sluice.redis.LocalRedis;
import io.sluice.redis.RedisBinary;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The real Redis server the whole suite shares: a Testcontainers container where a Docker engine
 * runs, else redis-server from PATH, else the binary inside the embedded-redis artifact. Started
 * once on a free port by {@link RedisExtension} and stopped when the suite ends.
 */
public final class TestRedis implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TestRedis.class);

  private final String host;
  private final int port;
  private final AutoCloseable server;
  private final Vertx vertx = Vertx.vertx();
  private final Redis client;

  private TestRedis(String host, int port, AutoCloseable server) {
    this.host = host;
    this.port = port;
    this.server = server;
    this.client = Redis.createClient(vertx, uri());
  }

  static TestRedis start() throws IOException {
    if (dockerLikelyPresent() && DockerClientFactory.instance().isDockerAvailable()) {
      GenericContainer<?> container = new GenericContainer<>("redis:7-alpine").withExposedPorts(6379);
      container.start();
      log.info("test redis: container {}", container.getContainerId());
      return new TestRedis(container.getHost(), container.getMappedPort(6379), container::stop);
    }
    Path binary = RedisBinary.resolve();
    LocalRedis local = LocalRedis.start(binary, Ports.free());
    log.info("test redis: {} on port {}", binary, local.port());
    return new TestRedis("127.0.0.1", local.port(), local);
  }

  /** Asking Testcontainers costs an ERROR log line where there is plainly no engine; skip it then. */
  private static boolean dockerLikelyPresent() {
    return System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"));
  }

  public String uri() {
    return "redis://" + host + ":" + port;
  }

  public int port() {
    return port;
  }

  /** Runs one command and waits for its reply: for assertions and set-up, never from an event loop. */
  public Response command(Command command, Object... args) {
    try {
      return client.send(Request.cmd(command, args)).await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("redis " + command + " failed", e);
    }
  }

  /** How many times Redis has run a command since start, from INFO commandstats (e.g. "evalsha"). */
  public long calls(String command) {
    String info = command(Command.INFO, "commandstats").toString();
    String prefix = "cmdstat_" + command + ":calls=";
    for (String line : info.split("\r?\n")) {
      if (line.startsWith(prefix)) {
        return Long.parseLong(line.substring(prefix.length(), line.indexOf(',')));
      }
    }
    return 0;
  }

  /** All the script calls Redis has run: a check that reached Redis raises this by at least one. */
  public long scriptCalls() {
    return calls("evalsha") + calls("eval");
  }

  @Override
  public void close() throws Exception {
    client.close();
    vertx.close().await(10, TimeUnit.SECONDS);
    server.close();
  }
}
