package io.sluice.cli;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckResponse;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code sluice check}: asks a running instance for one decision and prints it. */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Ask a Sluice instance whether a user may perform an action now. Exit code 0 when answered.")
public final class CheckCommand implements Callable<Integer> {

  @Option(names = "--target", description = "host:port of a Sluice instance (default: ${DEFAULT-VALUE}).", defaultValue = "127.0.0.1:50051")
  String target;

  @Option(names = "--user", required = true, description = "The user id.")
  String user;

  @Option(names = "--action", required = true, description = "The action, e.g. login.")
  String action;

  @Option(names = "--cost", description = "Tokens to take (default: ${DEFAULT-VALUE}).", defaultValue = "1")
  int cost;

  @Override
  public Integer call() throws Exception {
    SocketAddress address = Targets.parse(target);
    Vertx vertx = Vertx.vertx();
    try {
      CheckResponse response = new SluiceClient(vertx, address).check(user, action, cost).await(10, TimeUnit.SECONDS);
      System.out.println(format(response));
      return 0;
    } catch (Exception e) {
      System.err.println("check failed: " + e.getMessage());
      return 1;
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** One line: the decision first, then every field as name=value, so that people and scripts can read it. */
  static String format(CheckResponse response) {
    return response.getDecision()
        + " rule=" + response.getRule()
        + " limit=" + response.getLimit()
        + " remaining=" + response.getRemaining()
        + " retry_after_ms=" + response.getRetryAfterMs()
        + " reset_after_ms=" + response.getResetAfterMs()
        + (response.getDegraded() ? " degraded=true" : "");
  }
}
