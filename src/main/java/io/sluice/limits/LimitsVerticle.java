package io.sluice.limits;

import io.sluice.config.Settings;
import io.sluice.redis.RedisClients;
import io.sluice.redis.RedisKeys;
import io.sluice.redis.RedisTopology;
import io.sluice.redis.Subscriber;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Keeps the limits live: polls the limits file ({@link WatchedFiles}, as the Envoy rules are), and
 * listens on Redis Pub/Sub for published changes; either way the combined document is validated and
 * the snapshot swapped whole ({@link #applyEffective}), or it is rejected whole.
 *
 * <p>The effective limits are the file's with the Redis overlay applied ({@link LimitsOverlay}).
 * The overlay lives in the Redis key {@link RedisKeys#LIMITS_KEY}, written together with each
 * publish by {@code publish-limits}; it is read at start and after every resubscribe, because
 * Pub/Sub does not redeliver what an instance missed. All state here is touched on this verticle's
 * event loop only.
 */
public final class LimitsVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(LimitsVerticle.class);

  private final Settings settings;
  private final RedisTopology topology;
  private final LiveLimits live;
  private final String fileSource;
  private JsonObject fileDocument;
  private JsonObject overlay = new JsonObject();
  /** Published changes and catch-ups, one at a time. */
  private Future<Void> queue = Future.succeededFuture();
  private final String initialFileContent;
  private long version;
  private Redis redis;
  private Subscriber subscriber;

  public LimitsVerticle(Settings settings, LiveLimits live, String initialFileContent, RedisTopology topology) {
    this.settings = settings;
    this.topology = topology;
    this.live = live;
    this.fileSource = "file " + settings.limits();
    this.initialFileContent = initialFileContent;
    this.fileDocument = new JsonObject(initialFileContent);
    live.fileIs(fileDocument);
    this.version = live.get().version();
  }

  @Override
  public Future<?> start() {
    redis = RedisClients.pooled(vertx, settings, topology);
    new WatchedFiles<>(fileSource, () -> CappedFiles.read(vertx, settings.limits(), settings.maxLimitsFileBytes()).map(Object::toString),
        content -> content, CappedFiles::why, initialFileContent, new WatchedFiles.Target<>() {
          @Override
          public void apply(String content) {
            applyFile(content);
          }

          @Override
          public void validAgain(String how) {
            LimitsVerticle.this.validAgain(how);
          }

          @Override
          public void refuse(String reason) {
            reject(fileSource, reason);
          }
        }).watch(vertx, settings.limitsScanMs());
    subscriber = new Subscriber(vertx, settings, topology)
        .channel(RedisKeys.LIMITS_CHANNEL, this::onMessage)
        .onStateChange(up -> {
          if (up) {
            catchUp();
          }
        });
    // Start with the fleet's published limits when Redis answers; without Redis, the file alone.
    return readOverlay()
        .timeout(Math.max(1000, settings.redis().timeoutMs() * 4L), TimeUnit.MILLISECONDS)
        .onFailure(e -> log.warn("could not read published limits from redis at start: {}", e.toString()))
        .otherwiseEmpty()
        .compose(ignored -> subscriber.start());
  }

  /** Whether published changes can arrive right now. */
  public boolean isSubscribed() {
    return subscriber != null && subscriber.isSubscribed();
  }

  @Override
  public Future<?> stop() {
    return subscriber.close().eventually(redis::close);
  }

  /** A new content of the limits file: applied with the published overlay, or refused whole by throwing. */
  private void applyFile(String content) {
    JsonObject document = new JsonObject(content);
    LimitsParser.parse(LimitsOverlay.apply(document, overlay), fileSource, version + 1);
    fileDocument = document;
    applyEffective(fileSource);
  }

  /** A refusal of the file is outstanding and the file now reads well: the refusal is history, and said so. */
  private void validAgain(String how) {
    LimitsStatus status = live.status();
    if (status.lastRejection() != null && !status.lastRejection().cleared() && status.lastRejection().source().equals(fileSource)) {
      live.clearRejection();
      log.info("limits from {} are valid again ({}); version {} is in force", fileSource, how, live.get().version());
    }
  }

  /**
   * A change on the channel. What is applied is what the store holds after it ({@link LimitsStore#accept}):
   * the tool's changes are stored already, a raw PUBLISH is stored here when valid, and an invalid
   * one is refused and leaves no trace. Changes are taken one at a time, in the order they came.
   */
  private void onMessage(String text) {
    String source = "redis " + RedisKeys.LIMITS_CHANNEL;
    serially(() -> {
      JsonObject message;
      try {
        message = new JsonObject(text);
      } catch (io.vertx.core.json.DecodeException e) {
        reject(source, JsonSyntax.describe(e));
        return Future.succeededFuture();
      } catch (RuntimeException e) {
        reject(source, e.getMessage());
        return Future.succeededFuture();
      }
      return LimitsStore.accept(redis, message, fileDocument, source)
          .onSuccess(stored -> adopt(stored, source))
          .onFailure(failure -> {
            if (failure instanceof InvalidLimitsException) {
              reject(source, failure.getMessage());
            } else {
              log.warn("could not take a published limits change through redis ({}); applying it as received", failure.toString());
              applyDirectly(message, source);
            }
          })
          .<Void>mapEmpty()
          .otherwiseEmpty();
    });
  }

  private void applyDirectly(JsonObject message, String source) {
    try {
      JsonObject next = LimitsOverlay.merge(overlay, message, source);
      LimitsParser.parse(LimitsOverlay.apply(fileDocument, next), source, version + 1);
      long published = message.getLong(LimitsStore.VERSION, -1L);
      boolean overlayStored = overlay.isEmpty() || overlay.containsKey(LimitsStore.VERSION);
      if (overlayStored && published >= 0 && published <= LimitsStore.version(overlay)) {
        // A stored change in force here already (delivered again): merging it again could undo a later one.
        return;
      }
      if (overlayStored && published == LimitsStore.version(overlay) + 1) {
        // publish-limits stored it on top of the stored change in force here: what is applied is what Redis holds.
        next.put(LimitsStore.VERSION, published);
      } else {
        // No stored version holds what is applied now (a raw PUBLISH, or changes missed): claiming the
        // old one would tell operators this instance agrees with others that it does not. The store is
        // read again at the next change or resubscription.
        next.remove(LimitsStore.VERSION);
        log.warn("the change applied as received is not stored in redis: published version 0 here until it is read again");
      }
      overlay = next;
      applyEffective(source);
    } catch (RuntimeException e) {
      reject(source, e.getMessage());
    }
  }

  /** After a (re)subscribe: what was published meanwhile is in the store. */
  private void catchUp() {
    serially(() -> readOverlay().onFailure(e -> log.warn("could not read published limits after subscribing: {}", e.toString()))
        .otherwiseEmpty());
  }

  private void serially(Supplier<Future<Void>> work) {
    queue = queue.transform(previous -> work.get());
  }

  private Future<Void> readOverlay() {
    return LimitsStore.read(redis).map(stored -> {
      adopt(stored, "redis " + RedisKeys.LIMITS_KEY);
      return null;
    });
  }

  /** Applies the stored overlay, unless it is what is applied already. */
  private void adopt(JsonObject stored, String source) {
    if (stored.equals(overlay)) {
      return;
    }
    try {
      LimitsParser.parse(LimitsOverlay.apply(fileDocument, stored), source, version + 1);
      overlay = stored;
      applyEffective(source);
    } catch (RuntimeException e) {
      reject(source, e.getMessage());
    }
  }

  private void applyEffective(String cause) {
    String source = !LimitsOverlay.hasChanges(overlay) ? fileSource
        : overlay.containsKey(LimitsStore.VERSION) ? fileSource + " + redis " + RedisKeys.LIMITS_KEY
        : fileSource + " + an unstored change from redis channel " + RedisKeys.LIMITS_CHANNEL;
    Limits next = LimitsParser.parse(LimitsOverlay.apply(fileDocument, overlay), source, ++version);
    Limits previous = live.get();
    long published = overlay.getLong(LimitsStore.VERSION, 0L);
    live.fileIs(fileDocument);
    live.replace(next, published);
    log.info("limits version {} applied from {} (digest {} -> {}, published version {}, {} rules)", next.version(), cause,
        previous.digest(), next.digest(), published, next.rules().size());
  }

  private void reject(String source, String why) {
    // A decoder's message quotes the input over several lines: the first says what is wrong, and one line is one log line.
    String reason = LimitsParser.printable(why == null ? "unreadable" : why.lines().findFirst().orElse(""));
    live.reject(source, reason);
    log.error("limits update from {} rejected, version {} stays in force: {}", source, live.get().version(), reason);
  }
}
