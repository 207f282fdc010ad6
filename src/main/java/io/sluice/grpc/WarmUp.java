package io.sluice.grpc;

import io.sluice.security.Secret;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.sluice.grpc.Http2Wire.*;

/**
 * The calls an instance makes to itself before its gRPC port listens, so that its first clients
 * meet compiled code. A cold JVM decodes, refuses and answers HTTP/2 streams in the interpreter:
 * the first flight of 500 connections x 100 streams took a cold instance about 2 s to get through,
 * and a polite backend's check waited behind it 1.3-1.7 s, past its 1 s deadline; the same flood a
 * second time, on the same instance, kept it waiting 0.3-0.5 s (docs/benchmarks.md).
 *
 * <p>So, once its Redis connections are open, the instance starts one gRPC server more, on
 * loopback, and opens connections to it that each send, before reading the server's settings, what
 * such a flood sends: {@link #STREAMS_PER_CONNECTION} Checks. Every Check it sends is invalid (no
 * user), so each is refused or answered {@code INVALID_ARGUMENT}, and nothing is written to Redis;
 * the server counts in metrics of its own. It serves only calls that carry this start's random
 * {@link #SECRET_HEADER}, and is closed before the real port listens. Its servers are as many as
 * the real ones ({@code grpcInstances}); with one per event loop (the default) every loop is warmed:
 * warming one loop alone left the others' buffer pools and caches cold, and the first flight still
 * kept the polite check waiting 0.8-1 s. With fewer, the loops warmed may not be the ones served
 * on. A warm-up that fails or takes longer than {@link #TIMEOUT_MS} is logged and the instance
 * starts anyway: it is an optimisation.
 */
public final class WarmUp {

  private static final Logger log = LoggerFactory.getLogger(WarmUp.class);

  static final String SECRET_HEADER = "sluice-warm-up";
  /** As many streams as h2load's {@code -m 100} sends at once, the flood it prepares for. */
  static final int STREAMS_PER_CONNECTION = 100;
  static final long TIMEOUT_MS = 15_000;
  /** How long the real port may find its number held by the warm-up's closing sockets before it reports it in use. */
  static final long PORT_HELD_MS = 3_000;

  private WarmUp() {
  }

  /**
   * Warms the instance up with about {@code calls} calls, on a gRPC server of its own.
   *
   * @return completes when it is over, however it went: a failed warm-up does not stop the start
   */
  public static Future<Void> run(Vertx vertx, GrpcVerticle.Shared shared, int calls, int eventLoops) {
    if (calls <= 0) {
      return Future.succeededFuture();
    }
    long startedNanos = System.nanoTime();
    io.vertx.core.Context context = vertx.getOrCreateContext();
    byte[] random = new byte[16];
    new SecureRandom().nextBytes(random);
    String secret = HexFormat.of().formatHex(random);
    Metrics unseen = new Metrics();
    GrpcVerticle.Shared warmUpShared = shared.forWarmUp(unseen);
    // A stop asked for during the warm-up ends its servers' wait for Redis too.
    Runnable unlink = shared.health().onStopRequested(warmUpShared.health()::stopRequested);
    List<GrpcVerticle> servers = Collections.synchronizedList(new ArrayList<>());
    int connections = Math.max(1, (calls + STREAMS_PER_CONNECTION - 1) / STREAMS_PER_CONNECTION);
    return vertx.deployVerticle(() -> {
      GrpcVerticle server = new GrpcVerticle(warmUpShared, secret);
      servers.add(server);
      return server;
    }, new DeploymentOptions().setInstances(eventLoops)).compose(id -> {
      NetClient client = vertx.createNetClient();
      // A stop asked for meanwhile ends the warm-up, and with it the start (Health#stopRequested).
      return shared.health().unlessStopped(context,
              firstFlights(client, servers.stream().mapToInt(GrpcVerticle::port).toArray(), secret, connections)
                  .timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS),
              "during the warm-up")
          .onSuccess(done -> log.info("warmed up with {} calls over {} connections in {} ms", connections * STREAMS_PER_CONNECTION,
              connections, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos)))
          .recover(failure -> {
            if (failure instanceof Health.StoppedBeforeReady) {
              return Future.failedFuture(failure);
            }
            log.warn("the warm-up did not finish ({}): the first clients may meet a cold instance", failure.toString());
            return Future.succeededFuture();
          })
          .eventually(client::close)
          // Undeployed whether it finished or was stopped; a stop still fails the start.
          .eventually(() -> vertx.undeploy(id));
    }).eventually(() -> {
      // A server that could not start (Redis unreachable) fails the start, as the real one would.
      unlink.run();
      unseen.close();
      return Future.succeededFuture();
    });
  }

  /** The request handler of a warm-up server: it serves only calls that carry {@code secret}; {@code null}: every call. */
  static Handler<HttpServerRequest> onlyWith(String secret, Handler<HttpServerRequest> next) {
    if (secret == null) {
      return next;
    }
    Secret expected = new Secret(secret);
    return request -> {
      if (expected.matches(request.getHeader(SECRET_HEADER))) {
        next.handle(request);
      } else {
        request.response().setStatusCode(403).end();
      }
    };
  }

  private static Future<Void> firstFlights(NetClient client, int[] ports, String secret, int connections) {
    Buffer flight = firstFlight(secret);
    List<Future<Void>> all = new ArrayList<>(connections);
    for (int i = 0; i < connections; i++) {
      Promise<Void> ended = Promise.promise();
      client.connect(ports[i % ports.length], "127.0.0.1").onFailure(ended::tryFail).onSuccess(socket -> {
        StreamEnds ends = new StreamEnds(socket);
        socket.handler(ends::read);
        socket.closeHandler(closed -> ended.tryComplete());
        socket.exceptionHandler(failure -> socket.close());
        socket.write(flight);
      });
      all.add(ended.future());
    }
    return Future.all(all).mapEmpty();
  }

  /**
   * A client preface, empty settings, then {@link #STREAMS_PER_CONNECTION} Checks (HEADERS and a
   * DATA frame each), before anything was read: as a flood's first flight comes.
   */
  static Buffer firstFlight(String secret) {
    Buffer headers = Http2Wire.requestHeaders("/sluice.v1.RateLimiter/Check", "127.0.0.1", SECRET_HEADER, secret);
    // A CheckRequest with no field: no user, so INVALID_ARGUMENT, and Redis is not asked.
    Buffer message = Buffer.buffer(new byte[] {0, 0, 0, 0, 0});
    Buffer flight = Buffer.buffer().appendBytes(PREFACE);
    frameHeader(flight, 0, SETTINGS, 0, 0);
    for (int stream = 1; stream < 2 * STREAMS_PER_CONNECTION; stream += 2) {
      call(flight, stream, headers, message);
    }
    return flight;
  }

  private static void call(Buffer out, int stream, Buffer headers, Buffer message) {
    frameHeader(out, headers.length(), HEADERS, END_HEADERS, stream);
    out.appendBuffer(headers);
    frameHeader(out, message.length(), DATA, END_STREAM, stream);
    out.appendBuffer(message);
  }

  /** Reads the server's frames: acknowledges its settings, and closes once every stream ended (answered or refused). */
  private static final class StreamEnds {
    private final NetSocket socket;
    private Buffer pending = Buffer.buffer();
    /** By stream id: a refused stream's DATA read after its reset can bring a second reset, not a second end. */
    private final java.util.BitSet ended = new java.util.BitSet();

    StreamEnds(NetSocket socket) {
      this.socket = socket;
    }

    void read(Buffer data) {
      pending.appendBuffer(data);
      int at = 0;
      while (pending.length() - at >= FRAME_HEADER_BYTES) {
        int length = pending.getUnsignedMedium(at);
        if (pending.length() - at < FRAME_HEADER_BYTES + length) {
          break;
        }
        int type = pending.getUnsignedByte(at + 3);
        int flags = pending.getUnsignedByte(at + 4);
        int stream = pending.getInt(at + 5) & 0x7fffffff;
        at += FRAME_HEADER_BYTES + length;
        if (type == SETTINGS && (flags & ACK) == 0) {
          Buffer acknowledgement = Buffer.buffer();
          frameHeader(acknowledgement, 0, SETTINGS, ACK, 0);
          socket.write(acknowledgement);
        } else if (stream != 0 && (type == RST_STREAM || (type == HEADERS && (flags & END_STREAM) != 0))) {
          ended.set(stream);
        } else if (type == GOAWAY) {
          socket.close();
          return;
        }
      }
      pending = pending.getBuffer(at, pending.length());
      if (ended.cardinality() >= STREAMS_PER_CONNECTION) {
        socket.close();
      }
    }
  }
}
