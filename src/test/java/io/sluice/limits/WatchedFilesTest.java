package io.sluice.limits;

import io.vertx.core.Future;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** One pipeline for watched files (the limits file, the Envoy rules): what each scan does with what it read. */
class WatchedFilesTest {

  private final List<String> events = new ArrayList<>();
  private Future<String> nextRead = Future.succeededFuture("in force");
  private final WatchedFiles<String> files = new WatchedFiles<>("file test", () -> nextRead, content -> content,
      failure -> "cannot read: " + failure.getMessage(), "in force", new WatchedFiles.Target<>() {
        @Override
        public void apply(String content) {
          if (content.startsWith("bad")) {
            throw new IllegalArgumentException("not valid: " + content);
          }
          events.add("applied " + content);
        }

        @Override
        public void validAgain(String how) {
          events.add("valid: " + how);
        }

        @Override
        public void refuse(String reason) {
          events.add("refused: " + reason);
        }
      });

  @Test
  void whatIsInForceChangesNothingAndANewContentIsApplied() {
    files.scan();
    read("next");
    files.scan();
    files.scan();
    assertThat(events).containsExactly("valid: the files are back to what is in force", "applied next",
        "valid: a new valid content was applied", "valid: the files are back to what is in force");
  }

  @Test
  void aContentThatFailsIsRefusedOnlyWhenReadTheSameTwiceAndThenOnce() {
    read("bad, half-written");
    files.scan();
    assertThat(events).as("a half-written file is read again before it is reported").isEmpty();
    read("bad, for good");
    files.scan();
    files.scan();
    files.scan();
    assertThat(events).containsExactly("refused: not valid: bad, for good");
    read("in force");
    files.scan();
    read("bad, for good");
    files.scan();
    files.scan();
    assertThat(events).as("the same failure made again after the file was put right is news again").containsExactly(
        "refused: not valid: bad, for good", "valid: the files are back to what is in force", "refused: not valid: bad, for good");
  }

  @Test
  void unreadableFilesAreRefusedByTheirReasonAndNothingIsApplied() {
    nextRead = Future.failedFuture(new java.io.IOException("gone"));
    files.scan();
    files.scan();
    files.scan();
    assertThat(events).containsExactly("refused: cannot read: gone");
  }

  private void read(String content) {
    nextRead = Future.succeededFuture(content);
  }
}
