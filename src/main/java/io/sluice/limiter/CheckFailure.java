package io.sluice.limiter;

/**
 * A check that ends without a decision, and says why: the caller gets an error status, never a
 * made-up ALLOW.
 */
public final class CheckFailure extends RuntimeException {

  public enum Kind {
    /** The caller's deadline came before Redis answered. */
    DEADLINE,
    /**
     * The instance is too busy to decide this check in time (as many in flight as it takes, or it
     * could not send it to Redis soon enough): shed unmade, so a retry is safe.
     */
    OVERLOAD,
    /** Redis answered with an error no failure mode may hide; the message carries the incident id. */
    FAULT
  }

  private final Kind kind;
  private final String incidentId;

  private CheckFailure(Kind kind, String message, String incidentId) {
    super(message, null, false, false);
    this.kind = kind;
    this.incidentId = incidentId;
  }

  public static CheckFailure deadline() {
    return new CheckFailure(Kind.DEADLINE, "the check's deadline passed before redis answered", "");
  }

  public static CheckFailure overload(int inFlight) {
    return new CheckFailure(Kind.OVERLOAD, "sluice is at its limit of " + inFlight + " checks in flight; retry with backoff", "");
  }

  /** The check waited in this instance, unsent, past its limit: nothing was done, and the caller may retry. */
  public static CheckFailure backlog() {
    return new CheckFailure(Kind.OVERLOAD, "sluice was too busy to send the check to redis in time; it was not made; "
        + "retry with backoff", "");
  }

  /**
   * What a shed caller is told to wait before it retries ({@code grpc-retry-pushback-ms}): a
   * backlog of thousands of checks clears in a few tens of milliseconds at an instance's rate.
   */
  public static final long OVERLOAD_RETRY_AFTER_MS = 100;

  public static CheckFailure fault(String incidentId) {
    return new CheckFailure(Kind.FAULT, "internal error (error id " + incidentId + ")", incidentId);
  }

  public Kind kind() {
    return kind;
  }

  /** For {@link Kind#FAULT}: the id that appears in the log line with the details. */
  public String incidentId() {
    return incidentId;
  }
}
