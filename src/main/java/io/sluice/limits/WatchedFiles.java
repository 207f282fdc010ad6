package io.sluice.limits;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Configuration that lives in files, read every scan and applied whole or refused whole: the limits
 * file and the Envoy rules directory alike, so both behave the same way for an operator. A scan
 * that reads what is in force changes nothing (and puts an outstanding refusal right); a new
 * content is handed to {@link Target#apply}, which refuses it by throwing. Editors that write in
 * place show a half-written file for a moment, so a content that fails is read again at the next
 * scan and reported only if it is still the same, and then only once. Scans never overlap: a read
 * slower than the interval would otherwise let an older content be judged after a newer one.
 * Everything runs on the event loop of the verticle that starts it.
 *
 * @param <T> what one read gives (a file's text, a directory's files by name)
 */
public final class WatchedFiles<T> {

  private static final Logger log = LoggerFactory.getLogger(WatchedFiles.class);

  /** Where the files' contents go. */
  public interface Target<T> {
    /** Applies a new content, or throws (any RuntimeException, its message the reason) to refuse it whole, changing nothing. */
    void apply(T content);

    /** The files read as what is in force again: a refusal outstanding, if any, is history. */
    void validAgain(String how);

    /** A content could not be applied and stayed so for two reads: said once, the running configuration stays. */
    void refuse(String reason);
  }

  private final String name;
  private final Supplier<Future<T>> read;
  private final Function<T, String> fingerprint;
  private final Function<Throwable, String> unreadable;
  private final Target<T> target;
  private String inForce;
  private String pending;
  private String reported;
  private boolean scanning;

  /**
   * @param name        the files, as log lines name them ("file conf/limits.json")
   * @param read        reads the files once
   * @param fingerprint equal for equal contents
   * @param unreadable  why a failed read failed, for the refusal
   * @param initial     the content in force at start
   */
  public WatchedFiles(String name, Supplier<Future<T>> read, Function<T, String> fingerprint, Function<Throwable, String> unreadable,
                      T initial, Target<T> target) {
    this.name = name;
    this.read = read;
    this.fingerprint = fingerprint;
    this.unreadable = unreadable;
    this.target = target;
    this.inForce = fingerprint.apply(initial);
  }

  /** Scans every {@code scanMs} from now on. */
  public void watch(Vertx vertx, long scanMs) {
    vertx.setPeriodic(scanMs, timer -> scan());
  }

  void scan() {
    if (scanning) {
      return;
    }
    scanning = true;
    read.get().onComplete(result -> {
      scanning = false;
      if (result.failed()) {
        String why = unreadable.apply(result.cause());
        // Keyed by the reason: a different failure of unreadable files is news.
        refuseOnceStable("<unreadable> " + why, why);
        return;
      }
      String seen = fingerprint.apply(result.result());
      if (seen.equals(inForce)) {
        settled();
        target.validAgain("the files are back to what is in force");
        return;
      }
      try {
        target.apply(result.result());
      } catch (RuntimeException e) {
        // Any content that cannot be applied is refused whole, whatever failed on it.
        refuseOnceStable(seen, e.getMessage());
        return;
      }
      settled();
      inForce = seen;
      target.validAgain("a new valid content was applied");
    });
  }

  private void settled() {
    pending = null;
    reported = null;
  }

  private void refuseOnceStable(String seen, String reason) {
    if (seen.equals(reported)) {
      return;
    }
    if (seen.equals(pending)) {
      pending = null;
      reported = seen;
      target.refuse(reason);
    } else {
      pending = seen;
      log.debug("{} do not apply as read ({}); read again at the next scan before this is reported", name, reason);
    }
  }
}
