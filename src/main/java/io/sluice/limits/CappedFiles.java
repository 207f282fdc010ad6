package io.sluice.limits;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;

/**
 * Reading a limits or rules file no larger than {@code maxLimitsFileBytes}. Its size is looked at
 * before a byte is read: a file of tens of megabytes read whole every scan pinned that much direct
 * memory, and valid files were then refused now and then for want of it.
 */
public final class CappedFiles {

  private CappedFiles() {
  }

  /** The file's content, or a failure saying how large it is and which setting caps it. */
  public static Future<Buffer> read(Vertx vertx, String path, int maxBytes) {
    return vertx.fileSystem().props(path).compose(props -> props.size() > maxBytes
        ? Future.failedFuture(tooLarge(path, props.size(), maxBytes, "it was not read"))
        // Grown between the look and the read: refused all the same, and dropped at once.
        : vertx.fileSystem().readFile(path).compose(content -> content.length() > maxBytes
            ? Future.failedFuture(tooLarge(path, content.length(), maxBytes, "it grew while it was read"))
            : Future.succeededFuture(content)));
  }

  private static TooLargeException tooLarge(String path, long size, int maxBytes, String what) {
    return new TooLargeException(path + " is " + size + " bytes, above maxLimitsFileBytes (" + maxBytes + "): " + what);
  }

  /** A file refused for its size alone. */
  public static final class TooLargeException extends RuntimeException {
    TooLargeException(String message) {
      super(message, null, false, false);
    }
  }
}
