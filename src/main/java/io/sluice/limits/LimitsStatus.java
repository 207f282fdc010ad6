package io.sluice.limits;

import java.time.Instant;

/**
 * What operators see of the limits: the snapshot in force and the last update that was refused.
 *
 * @param lastRejection null until an update is refused
 * @param applied       updates applied since start (the first load included)
 * @param rejected      updates refused since start
 */
public record LimitsStatus(Limits current, Instant appliedAt, Rejection lastRejection, long applied, long rejected) {

  /** An update refused whole, and why. */
  public record Rejection(String source, String reason, Instant at) {
  }
}
