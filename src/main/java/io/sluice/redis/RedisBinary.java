package io.sluice.redis;

import redis.embedded.core.ExecutableProvider;
import redis.embedded.model.OsArchitecture;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Finds a {@code redis-server} executable for the local fleet and the tests: the one on PATH when
 * there is one, else the binary shipped inside the embedded-redis artifact, extracted once to a
 * cache folder that outlives this JVM, so that scripts can run it directly and own its process.
 */
public final class RedisBinary {

  private RedisBinary() {
  }

  public static Path resolve() throws IOException {
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        Path candidate = Path.of(dir, "redis-server");
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    return embedded();
  }

  /** The embedded binary for this OS and CPU, extracted under the temp folder on first use. */
  public static Path embedded() throws IOException {
    OsArchitecture platform = OsArchitecture.detectOSandArchitecture();
    String resource = ExecutableProvider.newProvidedVersionsMap().get(platform);
    if (resource == null) {
      throw new IOException("no embedded redis-server for " + platform.os + "/" + platform.arch + "; install redis-server");
    }
    Path cache = Path.of(System.getProperty("java.io.tmpdir"), "sluice-redis-" + System.getProperty("user.name", "user"));
    Path binary = cache.resolve(Path.of(resource).getFileName());
    if (Files.isExecutable(binary)) {
      return binary;
    }
    Files.createDirectories(cache);
    try (InputStream in = RedisBinary.class.getResourceAsStream(resource.startsWith("/") ? resource : "/" + resource)) {
      if (in == null) {
        throw new IOException("embedded redis-server " + resource + " is missing from the classpath");
      }
      // Copy then move, so that a concurrent first use never runs a half-written binary.
      Path partial = Files.createTempFile(cache, "redis-server", ".part");
      Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
      if (!partial.toFile().setExecutable(true)) {
        throw new IOException("cannot make " + partial + " executable");
      }
      Files.move(partial, binary, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
    return binary;
  }
}
