package io.sluice.limiter;

/**
 * The heap each in-process cache and queue may take, as shares of the heap the instance runs with,
 * so that a smaller heap gets smaller caches rather than an OutOfMemoryError, and no client can
 * grow any of them past its share: {@code cacheHeapPercent} of the heap for the caches (two fifths
 * for bans, one fifth for certain refusals, two fifths for the local failure mode's buckets), and
 * {@link #ANSWERS_HEAP_PERCENT} for answers written to gRPC connections whose peers have not taken
 * them yet, and {@link #IN_FLIGHT_HEAP_PERCENT} for checks in flight unless {@code maxChecksInFlight}
 * says how many; docs/benchmarks.md has the measurements.
 *
 * @param answersWaiting answers that may wait for their peers at once, over the whole instance
 */
public record MemoryBudgets(long banBytes, long refusalBytes, long localBucketBytes, int answersWaiting, int checksInFlight) {

  static final int ANSWERS_HEAP_PERCENT = 15;
  /** Checks in flight (request read, answer not yet written) when {@code maxChecksInFlight} is 0: a tenth of the heap. */
  static final int IN_FLIGHT_HEAP_PERCENT = 10;
  /**
   * What an answer waiting for its peer holds, stream and request included, measured: 30,000 such
   * streams filled a 160 MB heap (about 5 KiB each); counted high.
   */
  static final long BYTES_PER_ANSWER_WAITING = 6 * 1024;

  /** @param maxChecksInFlight the setting: 0 for a tenth of the heap's worth */
  public static MemoryBudgets of(long maxHeapBytes, int cacheHeapPercent, int maxChecksInFlight) {
    long caches = maxHeapBytes / 100 * cacheHeapPercent;
    long answers = maxHeapBytes / 100 * ANSWERS_HEAP_PERCENT;
    long inFlight = maxHeapBytes / 100 * IN_FLIGHT_HEAP_PERCENT;
    return new MemoryBudgets(caches / 5 * 2, caches / 5, caches / 5 * 2, (int) Math.max(64, answers / BYTES_PER_ANSWER_WAITING),
        maxChecksInFlight > 0 ? maxChecksInFlight : (int) Math.min(1_000_000, Math.max(100, inFlight / BYTES_PER_ANSWER_WAITING)));
  }
}
