package io.sluice.limiter;

/**
 * A check that ends without a decision, and says why: the caller gets an error status, never a
 * made-up ALLOW.
 */
public final class CheckFailure extends RuntimeException {

  public enum Kind {
    /** The caller's deadline came before Redis answered. */
    DEADLINE,
    /** The instance has as many checks in flight as it can answer in time: this one is shed. */
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
