package io.sluice.bench;

import io.sluice.grpc.FleetClient;
import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.common.GrpcStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The load generator's lean HTTP/2 client against a real instance: the answers a full gRPC client gets. */
@ExtendWith(RedisExtension.class)
class FramesClientTest {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 2, "refillPerSecond": 0.001 },
                   "many": { "capacity": 300, "refillPerSecond": 0.001 } } }
      """;

  private Vertx vertx;
  private Context context;

  @BeforeEach
  void startVertx() {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void stopVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void checksAreDecidedAsTheServerDecidesThem(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      FramesClient client = connect(sluice);
      List<Decision> decisions = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        decisions.add(client.check("frames-alice", "login", 1).await(10, TimeUnit.SECONDS).response().getDecision());
      }
      assertThat(decisions).containsExactly(Decision.ALLOW, Decision.ALLOW, Decision.DENY);
      assertThat(client.health().await(10, TimeUnit.SECONDS).response().getDecision()).isEqualTo(Decision.ALLOW);
    }
  }

  @Test
  void aRefusedCallKeepsTheStatusAndTheMessageNamingTheField(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      FramesClient client = connect(sluice);
      Future<FleetClient.Answer> refused = client.check("", "login", 1);
      assertThatThrownBy(() -> refused.await(10, TimeUnit.SECONDS))
          .isInstanceOfSatisfying(SluiceClient.CallFailedException.class, failure -> {
            assertThat(failure.status()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
            assertThat(failure.getMessage()).contains("user_id");
          });
      // The connection stays usable after a refused call.
      assertThat(client.check("frames-bob", "login", 1).await(10, TimeUnit.SECONDS).response().getDecision())
          .isEqualTo(Decision.ALLOW);
    }
  }

  @Test
  void callsBeyondTheServersStreamLimitWaitForAStreamInsteadOfBeingRefused(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      FramesClient client = connect(sluice);
      client.health().await(10, TimeUnit.SECONDS); // the server's SETTINGS have arrived
      // Sent in one event-loop turn, so that they are all on their way before any answer comes back.
      Promise<List<Future<FleetClient.Answer>>> sent = Promise.promise();
      context.runOnContext(send -> {
        List<Future<FleetClient.Answer>> calls = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
          calls.add(client.check("frames-carol", "many", 1));
        }
        sent.complete(calls);
      });
      List<Future<FleetClient.Answer>> answers = sent.future().await(10, TimeUnit.SECONDS);
      Future.all(answers).await(20, TimeUnit.SECONDS);
      assertThat(answers).allSatisfy(answer -> assertThat(answer.result().response().getDecision()).isEqualTo(Decision.ALLOW));
      assertThat(client.check("frames-carol", "many", 1).await(10, TimeUnit.SECONDS).response().getDecision())
          .isEqualTo(Decision.DENY);
    }
  }

  @Test
  void callsSentTheMomentItConnectsAreWithinTheServersStreamLimit(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new io.vertx.core.json.JsonObject().put("maxStreamsPerConnection", 4))) {
      // Sent in the turn it connected: the server refuses streams past its limit unread, so the client
      // must know the limit by then (its settings read), and queue the rest.
      Promise<FramesClient> connected = Promise.promise();
      Promise<List<Future<FleetClient.Answer>>> sent = Promise.promise();
      FramesClient.connect(vertx, context, SocketAddress.inetSocketAddress(sluice.port(), "127.0.0.1"), 0).onSuccess(client -> {
        List<Future<FleetClient.Answer>> calls = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
          calls.add(client.check("frames-erin", "many", 1));
        }
        sent.complete(calls);
        connected.complete(client);
      });
      List<Future<FleetClient.Answer>> answers = sent.future().await(10, TimeUnit.SECONDS);
      FramesClient client = connected.future().await(10, TimeUnit.SECONDS);
      Future.all(answers).await(20, TimeUnit.SECONDS);
      assertThat(answers).allSatisfy(answer -> assertThat(answer.result().response().getDecision()).isEqualTo(Decision.ALLOW));
      assertThat(sluice.counter(io.sluice.telemetry.Metrics.STREAMS_REFUSED)).as("streams refused").isZero();
      // Each call was decided once: the 300 tokens are spent, not more, not fewer.
      assertThat(client.check("frames-erin", "many", 1).await(10, TimeUnit.SECONDS).response().getDecision())
          .isEqualTo(Decision.DENY);
    }
  }

  @Test
  void callsMadeFromAnotherThreadWhileAnswersSendMoreKeepTheConnectionWhole(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      FramesClient client = connect(sluice);
      // As the bench's closed loop starts: this thread sends, and each answer sends the next from the event loop.
      List<Future<FleetClient.Answer>> answers = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        String user = "frames-dave-" + i;
        answers.add(client.check(user, "login", 1).compose(first -> client.check(user, "login", 1)));
      }
      Future.all(answers).await(20, TimeUnit.SECONDS);
      assertThat(answers).allSatisfy(answer -> assertThat(answer.result().response().getDecision()).isEqualTo(Decision.ALLOW));
    }
  }

  @Test
  void aConnectionThatCannotBeMadeFails() {
    SocketAddress nobody = SocketAddress.inetSocketAddress(Ports.free(), "127.0.0.1");
    assertThatThrownBy(() -> FramesClient.connect(vertx, context, nobody, 0).await(10, TimeUnit.SECONDS))
        .isInstanceOf(ConnectException.class);
  }

  private FramesClient connect(SluiceFixture sluice) throws Exception {
    return FramesClient.connect(vertx, context, SocketAddress.inetSocketAddress(sluice.port(), "127.0.0.1"), 0)
        .await(10, TimeUnit.SECONDS);
  }
}
