package io.sluice.redis;

/**
 * What becomes of one script call on the check path. Exactly one of {@link #onReply},
 * {@link #onUnavailable}, {@link #onDeadline}, {@link #onOverload} or {@link #onFault} answers the
 * caller; after {@link #onUnavailable} for a timeout or after {@link #onDeadline}, the command may
 * already be in Redis, and its reply, when it comes, goes to {@link #onLateReply} so that what it
 * did (a ban it made) is not lost.
 */
public interface ScriptCallback {

  /** Redis ran the script and answered in time. */
  void onReply(Object reply);

  /** Redis could not be asked or did not answer in time: the rule's failure mode answers. */
  void onUnavailable(Unavailable why, long retryAfterMs);

  /** The caller's own deadline came before Redis answered; the command was written and may still run. */
  void onDeadline();

  /**
   * Sluice was too busy to write the command in time (its own backlog, not Redis): it was dropped
   * unwritten, so nothing happened, and the caller may retry. Never a reason for the failure mode.
   */
  void onOverload();

  /** Redis answered with an error that no failure mode may hide. */
  void onFault(RedisFault fault, String detail);

  /** The reply of a call that was already answered by its deadline. */
  void onLateReply(Object reply);
}
