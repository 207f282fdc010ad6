package io.sluice.cli;

import io.sluice.redis.RedisBinary;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code sluice redis-binary}: prints a runnable redis-server path, for the local fleet scripts. */
@Command(name = "redis-binary", mixinStandardHelpOptions = true,
    description = "Print the path of a redis-server executable: the one on PATH, else the embedded one (extracted on first use).")
public final class RedisBinaryCommand implements Callable<Integer> {

  @Override
  public Integer call() throws Exception {
    System.out.println(RedisBinary.resolve());
    return 0;
  }
}
