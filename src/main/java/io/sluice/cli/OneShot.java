package io.sluice.cli;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;

/**
 * What a tool that makes one call and exits needs of Vert.x, and no more: one event loop, no
 * worker pools to speak of, no file cache. Building the default Vert.x is most of what such a
 * call would otherwise cost.
 */
final class OneShot {

  private OneShot() {
  }

  static Vertx vertx() {
    return Vertx.vertx(new VertxOptions()
        .setEventLoopPoolSize(1)
        .setWorkerPoolSize(1)
        .setInternalBlockingPoolSize(1)
        .setFileSystemOptions(new FileSystemOptions().setFileCachingEnabled(false).setClassPathResolvingEnabled(false)));
  }
}
