package io.sluice.throttle;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Windows with fewer samples than the controller needs are judged together with the windows after
 * them, up to {@link #MAX_WINDOWS} windows. A probe alone gives a few samples a window (10 a second
 * per instance at its default interval, fewer from a backend slower than that), and a controller
 * that judged each window alone would never act on them. Past {@code MAX_WINDOWS} thin windows the
 * samples are judged as they are, and the controller leaves the factor alone: a trickle of samples
 * over a long time is no evidence about now.
 */
final class ThinWindows {

  static final int MAX_WINDOWS = 10;

  private record Carried(double[] samples, int windows) {
  }

  private final int minSamples;
  private final Map<String, Carried> carried = new HashMap<>();

  ThinWindows(int minSamples) {
    this.minSamples = minSamples;
  }

  /**
   * The samples to judge this window for {@code subject}: those carried from its thin windows before,
   * then {@code drained}; or null when there are still too few, carried into the next window.
   */
  double[] judge(String subject, double[] drained) {
    Carried before = carried.remove(subject);
    double[] samples = before == null ? drained : concat(before.samples(), drained);
    int windows = before == null ? 1 : before.windows() + 1;
    if (samples.length >= minSamples || windows >= MAX_WINDOWS) {
      return samples;
    }
    carried.put(subject, new Carried(samples, windows));
    return null;
  }

  /** Forgets what was carried for {@code subject}. */
  void forget(String subject) {
    carried.remove(subject);
  }

  /** Forgets everything carried: another instance ran the controller meanwhile. */
  void clear() {
    carried.clear();
  }

  private static double[] concat(double[] first, double[] second) {
    double[] both = Arrays.copyOf(first, first.length + second.length);
    System.arraycopy(second, 0, both, first.length, second.length);
    return both;
  }
}
