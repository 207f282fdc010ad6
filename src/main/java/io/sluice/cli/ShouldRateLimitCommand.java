package io.sluice.cli;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code sluice should-rate-limit}: what Envoy asks (envoy.service.ratelimit.v3), from the command line. */
@Command(name = "should-rate-limit", mixinStandardHelpOptions = true,
    description = "Ask a Sluice instance what Envoy's rate limit filter asks: a domain and descriptors. Exit code 0 when answered.")
public final class ShouldRateLimitCommand implements Callable<Integer> {

  @Mixin
  InstanceTarget target;

  @Mixin
  ClientOptions client;

  @Option(names = "--domain", required = true, description = "The rate limit domain, as in the rule files.")
  String domain;

  @Option(names = "--descriptor", required = true, description = "One descriptor: key=value[,key=value...]; repeat for several.",
      converter = Values.Descriptor.class)
  List<String> descriptors;

  @Option(names = "--hits", defaultValue = "0", description = "hits_addend of the request (0 means 1).", converter = Values.NonNegative.class)
  int hits;

  @Override
  public Integer call() {
    RateLimitRequest.Builder request = RateLimitRequest.newBuilder().setDomain(domain).setHitsAddend(hits);
    for (String descriptor : descriptors) {
      RateLimitDescriptor.Builder entries = RateLimitDescriptor.newBuilder();
      for (String entry : descriptor.split(",")) {
        int equals = entry.indexOf('=');
        entries.addEntries(RateLimitDescriptor.Entry.newBuilder()
            .setKey(equals < 0 ? entry : entry.substring(0, equals)).setValue(equals < 0 ? "" : entry.substring(equals + 1)));
      }
      request.addDescriptors(entries);
    }
    return AdminCommands.run(target, client, client -> client.shouldRateLimit(request.build()), ShouldRateLimitCommand::format);
  }

  /** The overall code, then one status per descriptor: code, limit, remaining, reset; and the headers to add, if any. */
  static String format(RateLimitResponse response) {
    StringBuilder line = new StringBuilder().append(response.getOverallCode());
    for (DescriptorStatus status : response.getStatusesList()) {
      line.append(" [").append(status.getCode());
      if (status.hasCurrentLimit()) {
        line.append(" limit=").append(Integer.toUnsignedString(status.getCurrentLimit().getRequestsPerUnit())).append('/')
            .append(status.getCurrentLimit().getUnit())
            .append(" remaining=").append(Integer.toUnsignedString(status.getLimitRemaining()))
            .append(" reset=").append(status.getDurationUntilReset().getSeconds()).append('s');
      } else if (status.getLimitRemaining() != 0) {
        line.append(" unlimited");
      }
      line.append(']');
    }
    response.getResponseHeadersToAddList().forEach(header -> line.append(' ').append(header.getKey()).append(": ").append(header.getValue()));
    return line.toString();
  }
}
