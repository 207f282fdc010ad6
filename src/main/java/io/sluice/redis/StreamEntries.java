package io.sluice.redis;

import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The latest entries of a Redis stream (the audit trail, the history of published limits), newest
 * first: each with its id, its time (the id's, so Redis's clock) and its fields.
 */
public final class StreamEntries {

  /** One entry; a field it lacks reads as empty. */
  public record Entry(String id, Instant at, Map<String, String> fields) {
    public String field(String name) {
      return fields.getOrDefault(name, "");
    }
  }

  /** Always to the millisecond (an id's precision), so that every entry's time is as long and they sort as text. */
  private static final java.time.format.DateTimeFormatter AT = java.time.format.DateTimeFormatter
      .ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSX").withZone(java.time.ZoneOffset.UTC);

  private StreamEntries() {
  }

  /** An entry's time as the admin APIs show it. */
  public static String timeText(Instant at) {
    return AT.format(at);
  }

  /** The latest {@code count} entries of {@code key} ({@code XREVRANGE + - COUNT}), newest first. */
  public static io.vertx.core.Future<List<Entry>> latest(Redis redis, String key, int count) {
    return redis.send(Request.cmd(Command.XREVRANGE).arg(key).arg("+").arg("-").arg("COUNT").arg(count)).map(StreamEntries::read);
  }

  /**
   * The latest {@code count} entries whose field {@code field} is {@code value}, newest first, looked
   * for among the latest {@code searched} (a search never walks the whole stream); the latest
   * {@code count} of all when {@code value} is empty.
   */
  public static io.vertx.core.Future<List<Entry>> latestWith(Redis redis, String key, int count, int searched, String field, String value) {
    return latest(redis, key, value.isEmpty() ? count : searched).map(latest -> latest.stream()
        .filter(entry -> value.isEmpty() || entry.field(field).equals(value)).limit(count).toList());
  }

  private static List<Entry> read(Response reply) {
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; reply != null && i < reply.size(); i++) {
      Response item = reply.get(i);
      String id = item.get(0).toString();
      Response pairs = item.get(1);
      Map<String, String> fields = new HashMap<>();
      for (int f = 0; f + 1 < pairs.size(); f += 2) {
        fields.put(pairs.get(f).toString(), pairs.get(f + 1).toString());
      }
      entries.add(new Entry(id, Instant.ofEpochMilli(Long.parseLong(id.substring(0, id.indexOf('-')))), fields));
    }
    return entries;
  }
}
