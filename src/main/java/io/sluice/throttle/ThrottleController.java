package io.sluice.throttle;

/**
 * Adaptive throttling, the algorithm only: from one window's latency to the next throttle factor
 * m in [minFactor, 1]. Plain Java, no clock and no I/O, so it is tested alone.
 *
 * <p>A window is slow when its p95 exceeds the target: the configured objective, or
 * {@code tolerance} times a baseline that follows p95 slowly and only through healthy windows, so a
 * spike never drags it up. After {@code slowWindowsToDecrease} slow windows in a row, m is
 * multiplied by {@code decrease}; a window whose p95 is below {@code recoverBelow} times the target
 * adds {@code increase} back. Between the two is a hold band, so a latency hovering around the
 * target does not make m flap. Windows with fewer than {@code minSamples} samples change nothing.
 */
public final class ThrottleController {

  /**
   * @param targetMs   the latency objective; 0 to use {@code tolerance} x baseline
   * @param baselineAlpha how fast the baseline follows healthy windows (0..1)
   */
  public record Config(double targetMs, double tolerance, double minFactor, double decrease, double increase,
                       double recoverBelow, int slowWindowsToDecrease, int minSamples, double baselineAlpha) {

    public Config {
      require(targetMs >= 0, "throttleTargetMs must be >= 0, was " + targetMs);
      require(tolerance > 1, "throttleTolerance must be > 1, was " + tolerance);
      require(minFactor > 0 && minFactor <= 1, "throttleMinFactor must be in (0, 1], was " + minFactor);
      require(decrease > 0 && decrease < 1, "throttleDecrease must be in (0, 1), was " + decrease);
      require(increase > 0 && increase <= 1, "throttleIncrease must be in (0, 1], was " + increase);
      require(recoverBelow > 0 && recoverBelow <= 1, "recoverBelow must be in (0, 1], was " + recoverBelow);
      require(slowWindowsToDecrease >= 1, "slowWindowsToDecrease must be >= 1, was " + slowWindowsToDecrease);
      require(minSamples >= 1, "throttleMinSamples must be >= 1, was " + minSamples);
      require(baselineAlpha > 0 && baselineAlpha <= 1, "baselineAlpha must be in (0, 1], was " + baselineAlpha);
    }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(message);
      }
    }
  }

  /**
   * The controller's whole state, so that another instance can take over where this one stopped.
   *
   * @param baselineMs 0 until a first healthy window was seen
   * @param reason     why the factor last changed
   */
  public record State(double factor, double baselineMs, int slowWindows, double lastP95Ms, double targetMs, String reason) {

    public static State initial() {
      return new State(1, 0, 0, 0, 0, "start");
    }
  }

  private final Config config;

  public ThrottleController(Config config) {
    this.config = config;
  }

  /** The state after one window with {@code samples} latencies whose 95th percentile is {@code p95Ms}. */
  public State next(State state, double p95Ms, int samples) {
    if (samples < config.minSamples()) {
      return state;
    }
    double baseline = state.baselineMs() == 0 ? p95Ms : state.baselineMs();
    double target = config.targetMs() > 0 ? config.targetMs() : config.tolerance() * baseline;
    if (p95Ms > target) {
      int slow = state.slowWindows() + 1;
      if (slow < config.slowWindowsToDecrease()) {
        return new State(state.factor(), baseline, slow, p95Ms, target, state.reason());
      }
      double factor = Math.max(config.minFactor(), state.factor() * config.decrease());
      String reason = factor < state.factor()
          ? "p95 %.1f ms above target %.1f ms for %d windows".formatted(p95Ms, target, slow)
          : state.reason();
      return new State(factor, baseline, slow, p95Ms, target, reason);
    }
    // Healthy enough: the baseline may follow, and only from here, so that slowness never becomes normal.
    double nextBaseline = state.baselineMs() == 0 ? p95Ms : baseline + config.baselineAlpha() * (p95Ms - baseline);
    if (p95Ms < config.recoverBelow() * target && state.factor() < 1) {
      double factor = Math.min(1, state.factor() + config.increase());
      return new State(factor, nextBaseline, 0, p95Ms, target,
          "p95 %.1f ms below %.1f ms: recovering".formatted(p95Ms, config.recoverBelow() * target));
    }
    return new State(state.factor(), nextBaseline, 0, p95Ms, target, state.reason());
  }
}
