package io.sluice.throttle;

import java.util.Arrays;

/** Percentiles of one window's latency samples. */
public final class LatencyWindow {

  private LatencyWindow() {
  }

  /** The {@code quantile} (0..1) of {@code samples} by the nearest-rank method; 0 when there are none. */
  public static double percentile(double[] samples, double quantile) {
    int count = samples.length;
    if (count == 0) {
      return 0;
    }
    double[] sorted = samples.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(quantile * count);
    return sorted[Math.max(0, Math.min(count - 1, rank - 1))];
  }
}
