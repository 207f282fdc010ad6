package io.sluice.limits;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reading a limits or rules file no larger than {@code maxLimitsFileBytes}. A file of tens of
 * megabytes read whole every scan pinned that much direct memory, and valid files were then refused
 * now and then for want of it. So its size is looked at before a byte is read, and the read itself
 * stops one byte past the cap: a file that grows, or is swapped for a larger one, between the look
 * and the read costs no more. Only a regular file is read: {@code /dev/zero} reports no size and
 * never ends, and a named pipe would hold the reading thread for as long as nobody writes.
 */
public final class CappedFiles {

  private static final Logger log = LoggerFactory.getLogger(CappedFiles.class);

  /** After this long a read that has not ended is said to be stuck. */
  static final long STUCK_AFTER_MS = 10_000;

  private CappedFiles() {
  }

  /**
   * The file's content, or a {@link RefusedException} saying why it was not taken, or the read's
   * failure. A read that has not ended after {@link #STUCK_AFTER_MS} is logged: a file swapped for a
   * named pipe between the look and the open, or a network filesystem that stopped answering, holds
   * it, and the watcher reads again only once it ends (one stuck thread, not one more every scan).
   */
  public static Future<Buffer> read(Vertx vertx, String path, int maxBytes) {
    Future<Buffer> read = readOnAWorker(vertx, path, maxBytes);
    long stuck = vertx.setTimer(STUCK_AFTER_MS, late -> log.warn(
        "reading {} has not ended after {} ms (a named pipe, or a filesystem that does not answer?): changes to it are not seen until it does",
        path, STUCK_AFTER_MS));
    read.onComplete(done -> vertx.cancelTimer(stuck));
    return read;
  }

  private static Future<Buffer> readOnAWorker(Vertx vertx, String path, int maxBytes) {
    return vertx.executeBlocking(() -> {
      Path file = Path.of(path);
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
      if (attributes.isDirectory()) {
        throw new RefusedException(path + " is a directory, not a file");
      }
      if (!attributes.isRegularFile()) {
        throw new RefusedException(path + " is not a regular file: it was not read");
      }
      if (attributes.size() > maxBytes) {
        throw tooLarge(path, attributes.size() + " bytes", maxBytes, "it was not read");
      }
      try (InputStream in = Files.newInputStream(file)) {
        byte[] content = in.readNBytes(maxBytes + 1);
        if (content.length > maxBytes) {
          throw tooLarge(path, "more than " + maxBytes + " bytes", maxBytes, "it grew while it was read");
        }
        return Buffer.buffer(content);
      }
    });
  }

  /** Why a file could not be taken, for a log line and the limits status: the refusal as it is, else why it could not be read. */
  public static String why(Throwable failure) {
    return failure instanceof RefusedException ? failure.getMessage() : "cannot read: " + readFailure(failure);
  }

  /** A failed read in words: the JDK's messages for the common two name only the file. */
  public static String readFailure(Throwable failure) {
    if (failure instanceof NoSuchFileException missing) {
      return missing.getFile() + " does not exist";
    }
    if (failure instanceof AccessDeniedException denied) {
      return denied.getFile() + ": permission denied";
    }
    return String.valueOf(failure.getMessage());
  }

  private static RefusedException tooLarge(String path, String size, int maxBytes, String what) {
    return new RefusedException(path + " is " + size + ", above maxLimitsFileBytes (" + maxBytes + "): " + what);
  }

  /** A file not taken for its size or its kind, whatever it holds. */
  public static final class RefusedException extends IOException {
    RefusedException(String message) {
      super(message);
    }
  }
}
