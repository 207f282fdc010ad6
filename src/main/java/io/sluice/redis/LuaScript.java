package io.sluice.redis;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;

/**
 * A Lua script from the jar's {@code lua/} folder, called by SHA. Redis forgets scripts on restart
 * and on SCRIPT FLUSH; a {@code NOSCRIPT} reply is answered by one EVAL of the source, which
 * also caches the script again, so callers never see it.
 */
public final class LuaScript {

  private final String name;
  private final String source;
  private final String sha;

  private LuaScript(String name, String source) {
    this.name = name;
    this.source = source;
    this.sha = sha1Hex(source);
  }

  /** Reads {@code lua/<name>.lua} from the classpath. */
  public static LuaScript load(String name) {
    String resource = "lua/" + name + ".lua";
    try (InputStream in = LuaScript.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("script " + resource + " is not on the classpath");
      }
      return new LuaScript(name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }

  public String name() {
    return name;
  }

  public String sha() {
    return sha;
  }

  public String source() {
    return source;
  }

  /**
   * The one way a script gets into Redis's cache, for both clients: the pipelined connections send it
   * in their handshake, {@link #loadMissing} through vertx-redis-client.
   */
  Object[] loadCommand() {
    return new Object[] {"SCRIPT", "LOAD", source};
  }

  /**
   * Loads those of {@code scripts} Redis does not hold. SCRIPT EXISTS answers two questions at once,
   * whether Redis answers and whether it holds them, so the readiness probe asks it here.
   */
  public static Future<Void> loadMissing(Redis redis, List<LuaScript> scripts) {
    Request exists = Request.cmd(Command.SCRIPT).arg("EXISTS");
    scripts.forEach(script -> exists.arg(script.sha()));
    return redis.send(exists).compose(held -> {
      List<Future<Response>> loads = new ArrayList<>();
      for (int i = 0; i < scripts.size(); i++) {
        if (held.get(i).toInteger() == 0) {
          loads.add(redis.send(request(scripts.get(i).loadCommand())));
        }
      }
      return Future.all(loads).mapEmpty();
    });
  }

  private static Request request(Object[] words) {
    Request request = Request.cmd(Command.create((String) words[0]));
    for (int i = 1; i < words.length; i++) {
      request.arg(Resp.text(words[i]));
    }
    return request;
  }

  /**
   * Runs the script by SHA with {@code keys} then {@code args} (Strings or Numbers); on NOSCRIPT, runs
   * the same call as EVAL.
   */
  public Future<Response> call(Redis redis, int numKeys, Object... keysThenArgs) {
    return call(redis::send, numKeys, keysThenArgs);
  }

  /** The same on one connection (an operator's change under {@link AdminDeadline}). */
  public Future<Response> call(RedisConnection connection, int numKeys, Object... keysThenArgs) {
    return call(connection::send, numKeys, keysThenArgs);
  }

  /** The EVALSHA request of a call, as {@link #call} sends it (a benchmark's batches build theirs here too). */
  Request evalsha(int numKeys, Object... keysThenArgs) {
    return withArgs(Request.cmd(Command.EVALSHA).arg(sha), numKeys, keysThenArgs);
  }

  private Future<Response> call(Function<Request, Future<Response>> send, int numKeys, Object[] keysThenArgs) {
    return send.apply(evalsha(numKeys, keysThenArgs))
        .recover(failure -> isNoScript(failure)
            ? send.apply(withArgs(Request.cmd(Command.EVAL).arg(source), numKeys, keysThenArgs))
            : Future.failedFuture(failure));
  }

  private static Request withArgs(Request request, int numKeys, Object[] keysThenArgs) {
    request.arg(numKeys);
    for (Object value : keysThenArgs) {
      request.arg(Resp.text(value));
    }
    return request;
  }

  /** The error Redis answers a script it does not hold: both clients answer it with one EVAL of the source. */
  static final String NOT_LOADED = "NOSCRIPT";

  static boolean isNoScript(Throwable failure) {
    String message = failure.getMessage();
    return message != null && message.startsWith(NOT_LOADED);
  }

  private static String sha1Hex(String text) {
    try {
      MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
      return HexFormat.of().formatHex(sha1.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-1", e);
    }
  }
}
