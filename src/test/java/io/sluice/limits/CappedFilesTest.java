package io.sluice.limits;

import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a limits or rules file may be: a regular file no larger than the cap, whatever the path names. */
class CappedFilesTest {

  private static final int CAP = 64;

  private final Vertx vertx = Vertx.vertx();

  @TempDir
  Path dir;

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aFileAtTheCapIsReadAndOneByteMoreIsRefusedUnread() throws Exception {
    Path atCap = Files.writeString(dir.resolve("at-cap.json"), "x".repeat(CAP));
    Path over = Files.writeString(dir.resolve("over.json"), "x".repeat(CAP + 1));

    assertThat(read(atCap).length()).isEqualTo(CAP);
    assertThatThrownBy(() -> read(over)).isInstanceOf(CappedFiles.RefusedException.class)
        .hasMessage(over + " is 65 bytes, above maxLimitsFileBytes (64): it was not read");
  }

  @Test
  void aPathThatIsNoRegularFileIsRefusedUnread() throws Exception {
    assertThatThrownBy(() -> read(dir)).isInstanceOf(CappedFiles.RefusedException.class).hasMessage(dir + " is a directory, not a file");
    // Reports no size and never ends: read, it would take all the memory there is.
    assertThatThrownBy(() -> read(Path.of("/dev/zero"))).isInstanceOf(CappedFiles.RefusedException.class)
        .hasMessage("/dev/zero is not a regular file: it was not read");
  }

  @Test
  void aNamedPipeDoesNotHoldTheReader() throws Exception {
    Path pipe = dir.resolve("limits.fifo");
    Process mkfifo = new ProcessBuilder("mkfifo", pipe.toString()).start();
    assertThat(mkfifo.waitFor()).isZero();
    // Opened for reading, a pipe nobody writes to would block for ever: refused before it is opened.
    assertThatThrownBy(() -> read(pipe)).isInstanceOf(CappedFiles.RefusedException.class)
        .hasMessage(pipe + " is not a regular file: it was not read");
  }

  @Test
  void aMissingFileIsSaidToBeMissing() {
    Path missing = dir.resolve("missing.json");
    assertThatThrownBy(() -> read(missing)).satisfies(failure ->
        assertThat(CappedFiles.why(failure)).isEqualTo("cannot read: " + missing + " does not exist"));
  }

  private io.vertx.core.buffer.Buffer read(Path path) throws Exception {
    return CappedFiles.read(vertx, path.toString(), CAP).await(10, TimeUnit.SECONDS);
  }
}
