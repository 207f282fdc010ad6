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
  private AutoCloseable server;
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

  /**
   * A Redis process of the test's own, which it may stop, resume, or kill and start again empty:
   * always a local process, since signals need one.
   */
  public static TestRedis startOwn(String... moreArgs) throws IOException {
    LocalRedis local = LocalRedis.start(RedisBinary.resolve(), Ports.free(), moreArgs);
    return new TestRedis("127.0.0.1", local.port(), local);
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
    ((LocalRedis) server).close();
    server = LocalRedis.start(RedisBinary.resolve(), port);
  }

  private void signal(String name) {
    if (!(server instanceof LocalRedis local)) {
      throw new IllegalStateException("only a Redis of the test's own (startOwn) takes signals");
    }
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(local.pid())).inheritIO().start();
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
