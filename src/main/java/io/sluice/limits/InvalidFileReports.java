package io.sluice.limits;

/**
 * When a watched file that fails to apply is worth reporting. Editors that write in place show a
 * half-written file for a moment: a content that fails is read again at the next scan and reported
 * only if it is still the same, and then only once. Not thread-safe: one watcher's.
 */
public final class InvalidFileReports {

  private String pending;
  private String reported;

  /**
   * The file reads as the content in force, newly applied or read again: what failed before is
   * history, and the same failure made again later is news again.
   */
  public void inForce() {
    pending = null;
    reported = null;
  }

  /** Whether a content that failed to apply is to be reported now (it failed twice in a row, and was not reported yet). */
  public boolean shouldReport(String content) {
    if (content.equals(reported)) {
      return false;
    }
    if (!content.equals(pending)) {
      pending = content;
      return false;
    }
    pending = null;
    reported = content;
    return true;
  }

  /** Whether this content failed once and waits for the next read to say whether it stays (a half-written file does not). */
  public boolean readAgainFirst(String content) {
    return content.equals(pending);
  }
}
