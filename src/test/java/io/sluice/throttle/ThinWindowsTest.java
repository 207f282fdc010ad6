package io.sluice.throttle;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertNull;

class ThinWindowsTest {

  @Test
  void windowsWithTooFewSamplesAreJudgedTogetherWithTheNextOnes() {
    ThinWindows windows = new ThinWindows(5);
    assertNull(windows.judge("*", new double[] {1, 2}));
    assertNull(windows.judge("*", new double[] {3}));
    assertThat(windows.judge("*", new double[] {4, 5})).containsExactly(1, 2, 3, 4, 5);
    assertNull(windows.judge("*", new double[] {6}), "judged samples are not carried again");
  }

  @Test
  void aWindowWithEnoughSamplesIsJudgedAlone() {
    ThinWindows windows = new ThinWindows(2);
    assertThat(windows.judge("*", new double[] {1, 2, 3})).containsExactly(1, 2, 3);
  }

  @Test
  void subjectsAreCarriedApart() {
    ThinWindows windows = new ThinWindows(2);
    assertNull(windows.judge("*", new double[] {1}));
    assertNull(windows.judge("search", new double[] {9}));
    assertThat(windows.judge("*", new double[] {2})).containsExactly(1, 2);
  }

  @Test
  void aTrickleIsCarriedForAtMostMaxWindowsAndThenJudgedAsItIs() {
    ThinWindows windows = new ThinWindows(1_000);
    for (int i = 1; i < ThinWindows.MAX_WINDOWS; i++) {
      assertNull(windows.judge("*", new double[] {i}));
    }
    assertThat(windows.judge("*", new double[] {10})).hasSize(ThinWindows.MAX_WINDOWS);
    assertNull(windows.judge("*", new double[] {11}), "a new run of windows starts");
  }

  @Test
  void forgottenSamplesAreNotJudged() {
    ThinWindows windows = new ThinWindows(3);
    assertNull(windows.judge("*", new double[] {1, 2}));
    windows.forget("*");
    assertNull(windows.judge("*", new double[] {3}));
    windows.clear();
    assertThat(windows.judge("*", new double[] {4, 5, 6})).containsExactly(4, 5, 6);
  }
}
