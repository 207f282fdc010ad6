package io.sluice.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.Map;

/**
 * Reads {@link Settings} from three layers, later ones winning: the JSON settings file,
 * environment variables ({@code SLUICE_} + the key in upper snake case, e.g. {@code SLUICE_REDIS_TIMEOUT_MS}),
 * and command-line flags.
 */
public final class SettingsLoader {

  public static final String DEFAULT_FILE = "conf/application.json";
  public static final String ENV_PREFIX = "SLUICE_";

  private SettingsLoader() {
  }

  /** The environment variable that overrides {@code key}. */
  public static String envName(String key) {
    return ENV_PREFIX + key.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT);
  }

  /**
   * @param file  the settings file; a missing file is fine only when it is the default one
   * @param env   the process environment
   * @param flags settings given on the command line, keyed like the file
   */
  public static Future<Settings> load(Vertx vertx, String file, Map<String, String> env, JsonObject flags) {
    boolean explicitFile = file != null;
    String path = explicitFile ? file : DEFAULT_FILE;
    if (explicitFile && !new java.io.File(path).isFile()) {
      return Future.failedFuture(new IllegalArgumentException("settings file " + path + " does not exist"));
    }
    ConfigRetrieverOptions options = new ConfigRetrieverOptions()
        .setIncludeDefaultStores(false)
        .setScanPeriod(0)
        .addStore(new ConfigStoreOptions().setType("file").setFormat("json").setOptional(!explicitFile)
            .setConfig(new JsonObject().put("path", path)))
        .addStore(new ConfigStoreOptions().setType("json").setConfig(fromEnvironment(env)))
        .addStore(new ConfigStoreOptions().setType("json").setConfig(flags));
    ConfigRetriever retriever = ConfigRetriever.create(vertx, options);
    return retriever.getConfig()
        .map(Settings::fromJson)
        .andThen(done -> retriever.close());
  }

  private static JsonObject fromEnvironment(Map<String, String> env) {
    JsonObject json = new JsonObject();
    for (String key : Settings.DEFAULTS.fieldNames()) {
      String value = env.get(envName(key));
      if (value != null) {
        json.put(key, value);
      }
    }
    return json;
  }

  /** Puts a flag the user gave into the flags {@link #load} takes last; one not given is left to the file and environment. */
  public static void putIfSet(JsonObject flags, String key, Object value) {
    if (value != null) {
      flags.put(key, value);
    }
  }
}
