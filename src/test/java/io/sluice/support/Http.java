package io.sluice.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Plain GETs for conditions a test awaits: a server that does not answer (yet, or any more) is not an error. */
public final class Http {

  private static final HttpClient client = HttpClient.newHttpClient();

  private Http() {
  }

  /** A server that has not answered by then has not answered: the test goes on rather than hang. */
  private static final java.time.Duration ANSWER_WITHIN = java.time.Duration.ofSeconds(10);

  /** The status of a GET, or -1 when nothing answered (within 10 s). */
  public static int status(URI uri) {
    try {
      return client.send(HttpRequest.newBuilder(uri).timeout(ANSWER_WITHIN).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** The body of a GET, or "" when nothing answered. */
  public static String body(URI uri) {
    return body(uri, null);
  }

  /** The body of a GET with an Authorization header, or "" when nothing answered. */
  public static String body(URI uri, String authorization) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(ANSWER_WITHIN);
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    try {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  /** The sum of every sample of metric {@code name} in a Prometheus scrape whose labels include all of {@code labels}. */
  public static double metric(String scrape, String name, String... labels) {
    double sum = 0;
    for (String line : scrape.split("\n")) {
      if (!(line.startsWith(name + "{") || line.startsWith(name + " "))) {
        continue;
      }
      boolean matches = true;
      for (String label : labels) {
        matches &= line.contains(label);
      }
      if (matches) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /**
   * The upper bound (seconds) of the histogram bucket that holds the {@code quantile} of what metric
   * {@code name} recorded between two scrapes: what the instance itself measured, free of the
   * client's scheduling.
   */
  public static double quantileBetween(String before, String after, String name, double quantile) {
    java.util.TreeMap<Double, Double> deltas = new java.util.TreeMap<>();
    for (String line : after.split("\n")) {
      if (!line.startsWith(name + "_bucket{")) {
        continue;
      }
      String le = line.substring(line.indexOf("le=\"") + 4, line.indexOf('"', line.indexOf("le=\"") + 4));
      double bound = "+Inf".equals(le) ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
      double count = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      deltas.put(bound, count - metric(before, name + "_bucket", "le=\"" + le + "\""));
    }
    double total = deltas.isEmpty() ? 0 : deltas.lastEntry().getValue();
    for (java.util.Map.Entry<Double, Double> bucket : deltas.entrySet()) {
      if (bucket.getValue() >= quantile * total) {
        return bucket.getKey();
      }
    }
    return Double.NaN;
  }
}
