package io.sluice.grpc;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.HostileClients;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.grpc.common.GrpcStatus;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The check path, fuzzed against a running instance over real gRPC: any user id, action and cost
 * (Unicode, control characters, lengths at and around the 256-byte bound) is decided or refused as
 * INVALID_ARGUMENT naming the field, with nothing run in Redis; and any bytes sent as a Check call
 * (random messages, truncated frames) are never answered INTERNAL or UNKNOWN, write nothing when
 * refused, and leave the instance serving.
 */
class CheckPathProperties {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 1000, "refillPerSecond": 100 },
                   "login": { "capacity": 5, "refillPerSecond": 0.2,
                              "abuse": { "maxViolations": 3, "windowSeconds": 60, "banSeconds": 60 } } } }
      """;

  private static TestRedis redis;
  private static SluiceFixture sluice;
  private static Vertx vertx;

  @BeforeContainer
  static void start() throws Exception {
    redis = TestRedis.startOwn();
    sluice = SluiceFixture.start(redis.uri(), LIMITS);
    vertx = Vertx.vertx();
  }

  @AfterContainer
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    sluice.close();
    redis.close();
  }

  @Property
  void anyCheckIsDecidedOrRefusedNamingTheFieldAndARefusalRunsNothing(@ForAll("names") String user, @ForAll("names") String action,
                                                                        @ForAll("costs") int cost) {
    long scriptCallsBefore = redis.scriptCalls();
    try {
      CheckResponse response = sluice.check(user, action, cost);
      assertThat(response.getDecision()).isIn(Decision.ALLOW, Decision.DENY, Decision.BAN);
      assertThat(response.getDegraded()).isFalse();
    } catch (CallFailedException refused) {
      assertEquals(GrpcStatus.INVALID_ARGUMENT, refused.status(), refused.getMessage());
      assertThat(refused.getMessage()).containsAnyOf("user_id ", "action ", "cost ");
      assertEquals(scriptCallsBefore, redis.scriptCalls(), "nothing ran in redis for a refused check");
    }
  }

  @Property
  void anyBytesSentAsACheckAreNeverAnInternalErrorAndTheInstanceKeepsServing(@ForAll("frames") byte[] body) throws Exception {
    java.util.Set<String> keysBefore = redis.keys();
    // A connection of its own per try, as an attacker would open.
    HttpClient raw = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    HttpClientResponse response = raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(sluice.port())
            .setURI("/sluice.v1.RateLimiter/Check").putHeader("content-type", "application/grpc").putHeader("te", "trailers"))
        // The body is read as the response arrives: a trailers-only answer ends with its headers.
        .compose(request -> request.send(Buffer.buffer(body)).compose(answer -> answer.body().map(read -> answer)))
        .await(10, TimeUnit.SECONDS);
    raw.close();
    String status = response.getTrailer("grpc-status") != null ? response.getTrailer("grpc-status") : response.getHeader("grpc-status");
    assertThat(status).as("a gRPC status, for %s", Arrays.toString(body)).isNotNull();
    assertThat(Integer.parseInt(status)).as("never UNKNOWN or INTERNAL, for %s", Arrays.toString(body))
        .isNotIn(GrpcStatus.UNKNOWN.code, GrpcStatus.INTERNAL.code);
    if (!"0".equals(status)) {
      assertThat(redis.keys()).as("a refused call wrote nothing").isSubsetOf(keysBefore);
    }
    assertThat(sluice.check("still-serving", "api").getDecision()).isEqualTo(Decision.ALLOW);
  }

  /** Bytes that are not UTF-8 in a string field: refused naming the field, as any other bad field. */
  @net.jqwik.api.Example
  void aFieldThatIsNotUtf8IsNamed() throws Exception {
    // CheckRequest: user_id (1) = ff fe, action (2) = "api".
    byte[] check = {0x0a, 2, (byte) 0xff, (byte) 0xfe, 0x12, 3, 'a', 'p', 'i'};
    HttpClientResponse single = rawCall("/sluice.v1.RateLimiter/Check", HostileClients.grpcFrame(check));
    assertEquals(String.valueOf(GrpcStatus.INVALID_ARGUMENT.code), single.getHeader("grpc-status"));
    assertEquals("user_id is not valid UTF-8", grpcMessage(single));
    // CheckBatchRequest: checks (1) = [a valid check, the check above].
    byte[] valid = CheckRequest.newBuilder().setUserId("fine").setAction("api").build().toByteArray();
    java.io.ByteArrayOutputStream batch = new java.io.ByteArrayOutputStream();
    for (byte[] each : new byte[][] {valid, check}) {
      batch.write(0x0a);
      batch.write(each.length);
      batch.writeBytes(each);
    }
    HttpClientResponse inBatch = rawCall("/sluice.v1.RateLimiter/CheckBatch", HostileClients.grpcFrame(batch.toByteArray()));
    assertEquals("checks[1].user_id is not valid UTF-8", grpcMessage(inBatch));
  }

  /** grpc-message is percent-encoded on the wire. */
  private static String grpcMessage(HttpClientResponse response) {
    return java.net.URLDecoder.decode(response.getHeader("grpc-message").replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
  }

  private HttpClientResponse rawCall(String path, byte[] body) throws Exception {
    HttpClient raw = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    try {
      return raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(sluice.port())
              .setURI(path).putHeader("content-type", "application/grpc").putHeader("te", "trailers"))
          .compose(request -> request.send(Buffer.buffer(body)).compose(answer -> answer.body().map(read -> answer)))
          .await(10, TimeUnit.SECONDS);
    } finally {
      raw.close();
    }
  }

  @Provide
  Arbitrary<String> names() {
    return Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(300),
        Arbitraries.strings().ascii().ofMinLength(250).ofMaxLength(260),
        Arbitraries.strings().withCharRange('\u0080', '\u07ff').ofMinLength(120).ofMaxLength(135),
        Arbitraries.strings().withCharRange('\u0800', '\uffff').ofMinLength(80).ofMaxLength(90),
        Arbitraries.strings().withCharRange('\u0000', '\u001f').ofMaxLength(5).map(control -> "user" + control),
        Arbitraries.of("", "a".repeat(256), "a".repeat(257), "é".repeat(128), "é".repeat(129), "😀".repeat(64), "😀".repeat(65),
            "login", "default", "a:b", "{x}", "%7B", "ban:{u}", "\u2028", "\ud800"));
  }

  @Provide
  Arbitrary<Integer> costs() {
    return Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.integers().between(-2, 1002), Arbitraries.of(0, 1, 5, 6, 1000, 1001));
  }

  @Provide
  Arbitrary<byte[]> frames() {
    byte[] valid = HostileClients.grpcFrame(
        CheckRequest.newBuilder().setUserId("raw-user").setAction("login").setCost(1).build().toByteArray());
    return Arbitraries.oneOf(
        // A well-framed message of random bytes.
        Arbitraries.bytes().array(byte[].class).ofMaxSize(64).map(HostileClients::grpcFrame),
        // A valid call cut anywhere: the frame says more than comes.
        Arbitraries.integers().between(0, valid.length - 1).map(cut -> Arrays.copyOf(valid, cut)),
        // Bytes with no frame at all.
        Arbitraries.bytes().array(byte[].class).ofMaxSize(64),
        // A frame that claims a huge message, or a compressed one nobody negotiated.
        Arbitraries.of(new byte[] {0, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2}, new byte[] {1, 0, 0, 0, 2, 0x0a, 0}));
  }
}
