package io.sluice.grpc;

import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import io.sluice.limiter.CheckFailure;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.Service;
import io.vertx.grpc.server.StatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.zip.GZIPInputStream;

/**
 * A gRPC service of unary methods that answers every call exactly once, whatever the client sends.
 * The generated bindings leave a call unanswered when its request ends without a whole message
 * (a truncated frame hangs the stream) and reset it when the message does not decode; here the
 * request is read and decoded by this class, and every way it can go wrong is answered with a
 * status: {@code INVALID_ARGUMENT} for a missing, extra or undecodable message,
 * {@code RESOURCE_EXHAUSTED} for one over the size limit, {@code UNIMPLEMENTED} for an unknown
 * {@code grpc-encoding}.
 */
final class UnaryService implements Service {

  private static final Logger log = LoggerFactory.getLogger(UnaryService.class);

  /** As the server's own limit on a message: a compressed request may not unpack past it. */
  private static final int MAX_MESSAGE_BYTES = 256 * 1024;

  /** What a method does with the request it got: the answer, or a failure {@link GrpcErrors} maps. */
  @FunctionalInterface
  interface Method<Req, Resp> extends BiFunction<GrpcServerRequest<Req, Resp>, Req, Future<Resp>> {
  }

  /** Hears of every call a connection brings, and how it ends: what the connection holds meanwhile. */
  @FunctionalInterface
  interface Answers {
    ConnectionGuards.Call started(HttpConnection connection);
  }

  private record Binding<Req, Resp>(ServiceMethod<Req, Resp> method, Parser<Req> parser, Method<Req, Resp> body,
                                     java.util.function.Consumer<Resp> undelivered) {

    void bind(GrpcServer server, Descriptors.ServiceDescriptor service, Metrics metrics, Answers answers) {
      Descriptors.Descriptor requestType = service.findMethodByName(method.methodName()).getInputType();
      server.callHandler(method, call -> new Exchange<>(call, parser, requestType, body, undelivered, metrics, answers).start());
    }
  }

  private final ServiceName name;
  private final Descriptors.ServiceDescriptor descriptor;
  private final Metrics metrics;
  private final Answers answers;
  private final List<Binding<?, ?>> bindings = new ArrayList<>();

  UnaryService(ServiceName name, Descriptors.ServiceDescriptor descriptor, Metrics metrics, Answers answers) {
    this.name = name;
    this.descriptor = descriptor;
    this.metrics = metrics;
    this.answers = answers;
  }

  <Req, Resp> UnaryService method(ServiceMethod<Req, Resp> method, Parser<Req> parser, Method<Req, Resp> body) {
    return method(method, parser, body, answer -> { });
  }

  /**
   * @param undelivered hears of an answer its caller never got (the stream was gone first): what it
   *                    holds for the caller (a lease) is given back
   */
  <Req, Resp> UnaryService method(ServiceMethod<Req, Resp> method, Parser<Req> parser, Method<Req, Resp> body,
                                  java.util.function.Consumer<Resp> undelivered) {
    bindings.add(new Binding<>(method, parser, body, undelivered));
    return this;
  }

  @Override
  public ServiceName name() {
    return name;
  }

  @Override
  public Descriptors.ServiceDescriptor descriptor() {
    return descriptor;
  }

  @Override
  public void bind(GrpcServer server) {
    bindings.forEach(binding -> binding.bind(server, descriptor, metrics, answers));
  }

  /** One call: at most one message in, exactly one answer out. */
  private static final class Exchange<Req, Resp> {
    private final GrpcServerRequest<Req, Resp> call;
    private final Parser<Req> parser;
    private final Descriptors.Descriptor requestType;
    private final Method<Req, Resp> body;
    private final java.util.function.Consumer<Resp> undelivered;
    private final Metrics metrics;
    private final Answers answers;
    private ConnectionGuards.Call held;
    private boolean received;
    private boolean answered;

    Exchange(GrpcServerRequest<Req, Resp> call, Parser<Req> parser, Descriptors.Descriptor requestType, Method<Req, Resp> body,
        java.util.function.Consumer<Resp> undelivered, Metrics metrics, Answers answers) {
      this.undelivered = undelivered;
      this.call = call;
      this.parser = parser;
      this.requestType = requestType;
      this.body = body;
      this.metrics = metrics;
      this.answers = answers;
    }

    void start() {
      // The caller reset the stream (gave up, or its deadline passed): nothing may be written to it
      // any more. Vert.x throws on such a write, and the throw would unwind into whatever completed
      // the answer: the read of a Redis reply, which answers other callers' checks too.
      held = answers.started(call.connection());
      call.errorHandler(gone -> {
        if (!answered) {
          answered = true;
          held.abandoned(received);
          metrics.abandoned(call.fullMethodName());
        }
      });
      call.messageHandler(this::onMessage)
          .invalidMessageHandler(tooLarge -> refuse(GrpcStatus.RESOURCE_EXHAUSTED, "the request message is larger than the server takes"))
          .exceptionHandler(failure -> refuse(GrpcStatus.INVALID_ARGUMENT, "the request could not be read"))
          .endHandler(ended -> {
            if (!received) {
              refuse(GrpcStatus.INVALID_ARGUMENT, "the call ended without a whole request message");
            }
          });
    }

    private void onMessage(GrpcMessage message) {
      if (received) {
        refuse(GrpcStatus.INVALID_ARGUMENT, "a unary call carries exactly one request message");
        return;
      }
      received = true;
      held.received();
      Req request;
      byte[] bytes = null;
      try {
        bytes = payload(message).getBytes();
        request = parser.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        String notUtf8 = InvalidText.field(requestType, bytes);
        refuse(GrpcStatus.INVALID_ARGUMENT, notUtf8 != null ? notUtf8 + " is not valid UTF-8"
            : "the request message does not decode as " + call.methodName() + "'s request");
        return;
      } catch (UnsupportedEncodingException e) {
        refuse(GrpcStatus.UNIMPLEMENTED, e.getMessage());
        return;
      }
      Future<Resp> answer;
      try {
        answer = body.apply(call, request);
      } catch (RuntimeException e) {
        answer = Future.failedFuture(e);
      }
      answer.onComplete(done -> {
        if (answered) {
          if (done.succeeded()) {
            undelivered.accept(done.result());
          }
          return;
        }
        answered = true;
        try {
          if (done.succeeded()) {
            try {
              held.answered(call.response().end(done.result()), received);
            } catch (RuntimeException e) {
              undelivered.accept(done.result());
              throw e;
            }
          } else {
            StatusException status = GrpcErrors.toStatus(done.cause());
            if (GrpcErrors.isShed(done.cause())) {
              held.shed();
              // gRPC's own retry hint: clients with a retry policy wait this long before trying again.
              call.response().trailers().set("grpc-retry-pushback-ms", String.valueOf(CheckFailure.OVERLOAD_RETRY_AFTER_MS));
            }
            held.answered(call.response().status(status.status()).statusMessage(status.message()).end(), received);
          }
        } catch (RuntimeException e) {
          // Whatever completed the answer (a Redis reply that answers other checks too) must not hear of it.
          streamGone(e);
        }
      });
    }

    /**
     * A stream the client closed meanwhile throws on the answer (Vert.x 5.0.7 fails on what it can no
     * longer send): the caller is gone, which is no error of ours.
     */
    private void streamGone(RuntimeException e) {
      held.abandoned(received);
      metrics.abandoned(call.fullMethodName());
      log.warn("could not write the answer of a {} call, its stream is gone: {}", call.fullMethodName(), e.toString());
    }

    private void refuse(GrpcStatus status, String message) {
      if (!answered) {
        answered = true;
        try {
          held.answered(call.response().status(status).statusMessage(message).end(), received);
        } catch (RuntimeException e) {
          streamGone(e);
        }
      }
    }

    private static Buffer payload(GrpcMessage message) throws UnsupportedEncodingException {
      return switch (message.encoding()) {
        case "identity" -> message.payload();
        case "gzip" -> gunzip(message.payload());
        default -> throw new UnsupportedEncodingException("grpc-encoding " + message.encoding() + " is not supported (identity, gzip)");
      };
    }

    private static Buffer gunzip(Buffer compressed) throws UnsupportedEncodingException {
      try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed.getBytes()))) {
        byte[] unpacked = in.readNBytes(MAX_MESSAGE_BYTES + 1);
        if (unpacked.length > MAX_MESSAGE_BYTES) {
          throw new UnsupportedEncodingException("the request message unpacks to more than " + MAX_MESSAGE_BYTES + " bytes");
        }
        return Buffer.buffer(unpacked);
      } catch (IOException e) {
        throw new UnsupportedEncodingException("the request message is not valid gzip");
      }
    }
  }

  /** An encoding this server does not read. */
  private static final class UnsupportedEncodingException extends Exception {
    UnsupportedEncodingException(String message) {
      super(message, null, false, false);
    }
  }
}
