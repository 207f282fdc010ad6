package io.sluice.floor;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The least a check can cost built from Sluice's parts: a Vert.x gRPC server (as many event loops
 * and servers as Sluice deploys) that answers every call, whatever its method, with
 * {@code grpc.health.v1.HealthCheckResponse{status: SERVING}} once one EVALSHA of the plain token
 * bucket on a random user's key has come back from Redis, on a connection of the call's own event
 * loop. No limits, bans, metrics, deadlines or breaker: whatever tail this has, a check has too.
 *
 * <pre>java -jar bench/floor/target/sluice-floor.jar --port 50079 --redis-port 6398 [--users 10000]</pre>
 */
public final class FloorServer extends VerticleBase {

  /** {@code HealthCheckResponse{status: SERVING}}: field 1, varint 1. */
  private static final Buffer SERVING = Buffer.buffer(new byte[] {0x08, 0x01});

  private final int port;
  private final int redisPort;
  private final int users;
  private final String script;
  private final String sha;
  private final SplittableRandom random = new SplittableRandom();
  /** The callbacks of the commands sent and not yet answered, in the order Redis answers them. */
  private final ArrayDeque<Handler<Boolean>> pending = new ArrayDeque<>();
  private NetSocket redis;
  /** A bulk reply's header line was read; its payload line completes the reply. */
  private boolean inBulk;

  private FloorServer(int port, int redisPort, int users, String script, String sha) {
    this.port = port;
    this.redisPort = redisPort;
    this.users = users;
    this.script = script;
    this.sha = sha;
  }

  public static void main(String[] args) throws IOException, NoSuchAlgorithmException {
    Map<String, Integer> options = new HashMap<>(Map.of("--port", 50079, "--redis-port", 6379, "--users", 10_000));
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (options.replace(args[i], Integer.parseInt(args[i + 1])) == null) {
        throw new IllegalArgumentException("unknown option " + args[i] + "; known: " + options.keySet());
      }
    }
    String script;
    try (InputStream in = FloorServer.class.getResourceAsStream("/plain_token_bucket.lua")) {
      script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
    int port = options.get("--port");
    int redisPort = options.get("--redis-port");
    Vertx.vertx()
        .deployVerticle(() -> new FloorServer(port, redisPort, options.get("--users"), script, sha),
            new DeploymentOptions().setInstances(VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE))
        .onSuccess(id -> System.out.println("floor: listening on " + port + ", Redis on " + redisPort))
        .onFailure(e -> {
          e.printStackTrace();
          System.exit(1);
        });
  }

  @Override
  public Future<?> start() {
    return vertx.createNetClient().connect(redisPort, "127.0.0.1").compose(socket -> {
      redis = socket;
      socket.handler(RecordParser.newDelimited("\r\n", this::replyLine));
      send(command("SCRIPT", "LOAD", script), loaded -> { });
      // A call Redis refused is answered INTERNAL, so that the bench counts it instead of a floor that skipped Redis.
      GrpcServer grpc = GrpcServer.server(vertx).callHandler(call -> call.last().onSuccess(request ->
          send(command("EVALSHA", sha, "1", "floor:" + random.nextInt(users), "100", "10", "1"), decided -> {
            if (decided) {
              call.response().end(SERVING);
            } else {
              call.response().status(GrpcStatus.INTERNAL).end();
            }
          })));
      return vertx.createHttpServer(new HttpServerOptions()).requestHandler(grpc).listen(port);
    });
  }

  /** {@code answered} hears whether Redis carried the command out (false: an error reply). */
  private void send(Buffer command, Handler<Boolean> answered) {
    pending.add(answered);
    redis.write(command);
  }

  /** Replies are integers, simple strings or one-line bulk strings (the SHA): each is one line, or two. */
  private void replyLine(Buffer line) {
    if (!inBulk && line.length() > 0 && line.getByte(0) == '$' && !"$-1".equals(line.toString())) {
      inBulk = true;
      return;
    }
    boolean error = !inBulk && line.length() > 0 && line.getByte(0) == '-';
    if (error) {
      System.err.println("floor: Redis answered " + line);
    }
    inBulk = false;
    pending.remove().handle(!error);
  }

  private static Buffer command(String... parts) {
    StringBuilder resp = new StringBuilder().append('*').append(parts.length).append("\r\n");
    for (String part : parts) {
      resp.append('$').append(part.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(part).append("\r\n");
    }
    return Buffer.buffer(resp.toString());
  }
}
