package io.sluice.limiter;

/**
 * An active ban, as operators see it.
 *
 * @param actionOrEmpty empty for a ban of every action
 * @param level         0 for a manual ban
 */
public record BanInfo(String userId, String actionOrEmpty, String scope, long remainingMs, String reason, int level, int violations) {
}
