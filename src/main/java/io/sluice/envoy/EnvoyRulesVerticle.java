package io.sluice.envoy;

import io.sluice.config.Settings;
import io.sluice.limits.CappedFiles;
import io.sluice.limits.WatchedFiles;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Keeps the Envoy rules live, as {@code conf/limits.json} is ({@link WatchedFiles}): the directory
 * is read every {@code limitsScanMs}; a changed set is parsed whole and swapped whole, or refused
 * whole (logged once, counted, shown by GET /admin/envoy) while the running rules stay.
 */
public final class EnvoyRulesVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(EnvoyRulesVerticle.class);

  private final Settings settings;
  private final LiveEnvoyRules live;
  private final Map<String, String> initialFiles;

  public EnvoyRulesVerticle(Settings settings, LiveEnvoyRules live, Map<String, String> initialFiles) {
    this.settings = settings;
    this.live = live;
    this.initialFiles = initialFiles;
  }

  /** The rules of these files, or {@link io.sluice.limits.InvalidLimitsException} naming every problem. */
  public static EnvoyRules parse(Map<String, String> files, Settings settings) {
    return EnvoyRulesParser.parse(files, source(settings),
        EnvoyRulesParser.Algorithm.valueOf(settings.envoy().algorithm().toUpperCase(Locale.ROOT)));
  }

  public static String source(Settings settings) {
    return "envoy rules " + settings.envoy().rules();
  }

  /** Every *.yaml and *.yml file of the directory (not its subdirectories), by file name; none larger than {@code maxLimitsFileBytes}. */
  public static Future<Map<String, String>> read(Vertx vertx, Settings settings) {
    return vertx.fileSystem().readDir(settings.envoy().rules(), ".*\\.ya?ml").compose(paths -> {
      List<Future<String>> contents = new ArrayList<>();
      for (String path : paths) {
        contents.add(vertx.fileSystem().props(path).compose(props -> props.isRegularFile()
            ? CappedFiles.read(vertx, path, settings.maxLimitsFileBytes()).map(Object::toString)
            : Future.succeededFuture(null)));
      }
      // join, not all: every read has ended when this does, so a scan never overlaps the last one's reads.
      return Future.join(contents).map(read -> {
        Map<String, String> files = new TreeMap<>();
        for (int i = 0; i < paths.size(); i++) {
          if (contents.get(i).result() != null) {
            files.put(Path.of(paths.get(i)).getFileName().toString(), contents.get(i).result());
          }
        }
        return files;
      });
    });
  }

  @Override
  public Future<?> start() {
    new WatchedFiles<>(source(settings), () -> read(vertx, settings), EnvoyRulesVerticle::fingerprint,
        failure -> failure instanceof CappedFiles.RefusedException ? failure.getMessage()
            : "cannot read " + settings.envoy().rules() + ": " + CappedFiles.readFailure(failure),
        initialFiles, new WatchedFiles.Target<>() {
          @Override
          public void apply(Map<String, String> files) {
            EnvoyRules next = parse(files, settings);
            live.replace(next);
            log.info("envoy rules applied from {}: domains {}, digest {}", settings.envoy().rules(), new java.util.TreeSet<>(next.domains().keySet()),
                next.digest());
          }

          @Override
          public void validAgain(String how) {
            if (live.clearRejection()) {
              log.info("envoy rules from {} are valid again ({}); digest {} is in force", settings.envoy().rules(), how, live.get().digest());
            }
          }

          @Override
          public void refuse(String reason) {
            live.reject(reason);
            log.error("envoy rules refused, the running ones stay: {}", reason);
          }
        }).watch(vertx, settings.limitsScanMs());
    return Future.succeededFuture();
  }

  private static String fingerprint(Map<String, String> files) {
    StringBuilder all = new StringBuilder();
    files.forEach((name, content) -> all.append(name).append('\0').append(content).append('\0'));
    return all.toString();
  }
}
