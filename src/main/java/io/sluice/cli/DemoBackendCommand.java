package io.sluice.cli;

import io.sluice.demo.DemoBackendVerticle;
import io.vertx.core.Vertx;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code sluice demo-backend}: the demo "main API", which asks Sluice before serving. */
@Command(name = "demo-backend", mixinStandardHelpOptions = true,
    description = "Serve a demo HTTP API (POST /login, GET /search, POST /checkout) that asks Sluice first and answers 200, 429 or 403.")
public final class DemoBackendCommand implements Callable<Integer> {

  @Option(names = "--port", defaultValue = "8080", description = "HTTP port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host;

  @Mixin
  FleetTargets targets;

  @Mixin
  ClientOptions client;

  @Override
  public Integer call() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      vertx.deployVerticle(new DemoBackendVerticle(host, port, targets.addresses(), client.access())).await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("demo-backend: cannot start: " + e.getMessage());
      vertx.close();
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      vertx.close().onComplete(closed -> stopped.countDown());
      try {
        stopped.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "demo-backend-stop"));
    stopped.await();
    return 0;
  }
}
