package io.sluice.throttle;

import io.sluice.throttle.ThrottleController.State;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ThrottleControllerTest {

  private static final ThrottleController WITH_TARGET = new ThrottleController(
      new ThrottleController.Config(100, 2, 0.2, 0.9, 0.05, 0.8, 2, 10, 0.05));
  private static final ThrottleController WITH_BASELINE = new ThrottleController(
      new ThrottleController.Config(0, 2, 0.2, 0.9, 0.05, 0.8, 2, 10, 0.05));

  @Test
  void decreasesMultiplicativelyUnderSustainedHighLatency() {
    State state = State.initial();
    state = WITH_TARGET.next(state, 300, 100);
    assertEquals(1.0, state.factor(), "one slow window is not yet sustained");
    state = WITH_TARGET.next(state, 300, 100);
    assertEquals(0.9, state.factor(), 1e-9);
    state = WITH_TARGET.next(state, 300, 100);
    assertEquals(0.81, state.factor(), 1e-9);
    assertThat(state.reason()).contains("p95 300.0 ms above target 100.0 ms");
  }

  @Test
  void neverGoesBelowMinFactor() {
    State state = State.initial();
    for (int i = 0; i < 200; i++) {
      state = WITH_TARGET.next(state, 10_000, 100);
    }
    assertEquals(0.2, state.factor(), 1e-9);
  }

  @Test
  void recoversSlowlyToOneOnceHealthy() {
    State state = new State(0.2, 0, 0, 0, 0, "x");
    int windows = 0;
    while (state.factor() < 1) {
      double before = state.factor();
      state = WITH_TARGET.next(state, 20, 100);
      assertThat(state.factor() - before).isLessThanOrEqualTo(0.05 + 1e-9);
      windows++;
    }
    assertEquals(1.0, state.factor());
    assertEquals(16, windows);
  }

  @Test
  void doesNotOscillateUnderNoisyButHealthyLatency() {
    Random random = new Random(42);
    State state = State.initial();
    for (int i = 0; i < 1000; i++) {
      state = WITH_TARGET.next(state, 40 + random.nextDouble() * 55, 100);
      assertEquals(1.0, state.factor());
    }
  }

  @Test
  void holdsInsideTheBandAroundTheTarget() {
    State state = new State(0.5, 0, 0, 0, 0, "x");
    for (int i = 0; i < 100; i++) {
      state = WITH_TARGET.next(state, 90, 100);
    }
    assertEquals(0.5, state.factor(), "between 0.8 x target and the target, m holds");
  }

  @Test
  void ignoresASingleOutlierWindow() {
    State state = State.initial();
    for (int i = 0; i < 50; i++) {
      state = WITH_TARGET.next(state, i == 25 ? 5_000 : 50, 100);
    }
    assertEquals(1.0, state.factor());
  }

  @Test
  void aSingleSlowSampleDoesNotMoveTheP95() {
    double[] samples = new double[100];
    java.util.Arrays.fill(samples, 20);
    samples[57] = 9_000;
    assertEquals(20, LatencyWindow.percentile(samples, 0.95));
  }

  @Test
  void ignoresWindowsWithTooFewSamples() {
    State state = State.initial();
    for (int i = 0; i < 10; i++) {
      state = WITH_TARGET.next(state, 10_000, 3);
    }
    assertEquals(1.0, state.factor());
  }

  @Test
  void withoutATargetUsesToleranceTimesABaselineThatASpikeDoesNotDragUp() {
    State state = State.initial();
    for (int i = 0; i < 20; i++) {
      state = WITH_BASELINE.next(state, 50, 100);
    }
    assertEquals(50, state.baselineMs(), 1e-9);
    for (int i = 0; i < 30; i++) {
      state = WITH_BASELINE.next(state, 400, 100);
    }
    assertThat(state.factor()).isLessThan(0.1 + 0.2);
    assertEquals(50, state.baselineMs(), 1e-9, "slow windows never move the baseline");
    assertEquals(100, state.targetMs(), 1e-9);
  }

  @Test
  void rejectsImpossibleConfigNamingTheSetting() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ThrottleController.Config(0, 2, 0, 0.9, 0.05, 0.8, 2, 10, 0.05));
    assertThat(e.getMessage()).startsWith("throttleMinFactor must be in (0, 1], was 0.0");
  }
}
