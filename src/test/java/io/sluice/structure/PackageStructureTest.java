package io.sluice.structure;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The packages as the next engineer should find them: none depends on one that depends back on it,
 * settings and the key schema sit at the bottom, and the wire (grpc, ops) at the top.
 */
class PackageStructureTest {

  private static final JavaClasses MAIN = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("io.sluice");

  @Test
  void noPackageDependsOnOneThatDependsBackOnIt() {
    slices().matching("io.sluice.(*)..").should().beFreeOfCycles().check(MAIN);
  }

  @Test
  void settingsDependOnNothingElseOfSluice() {
    noClasses().that().resideInAPackage("io.sluice.config..")
        .should().dependOnClassesThat().resideOutsideOfPackages("io.sluice.config..", "java..", "javax..", "io.vertx..", "org.slf4j..",
            "com.fasterxml..", "io.netty..")
        .check(MAIN);
  }

  @Test
  void theRedisLayerKnowsNothingOfPolicyNorOfTheWire() {
    noClasses().that().resideInAPackage("io.sluice.redis..")
        .should().dependOnClassesThat().resideInAnyPackage("io.sluice.limiter..", "io.sluice.limits..", "io.sluice.grpc..",
            "io.sluice.ops..", "io.sluice.envoy..", "io.sluice.throttle..", "io.sluice.cli..")
        .check(MAIN);
  }

  @Test
  void nothingBelowTheWireDependsOnIt() {
    noClasses().that().resideInAnyPackage("io.sluice.limiter..", "io.sluice.limits..", "io.sluice.envoy..", "io.sluice.throttle..",
            "io.sluice.redis..", "io.sluice.config..", "io.sluice.telemetry..", "io.sluice.security..")
        .should().dependOnClassesThat().resideInAnyPackage("io.sluice.grpc..", "io.sluice.ops..", "io.sluice.cli..", "io.sluice.demo..")
        .check(MAIN);
  }

  /**
   * The client library (sluice-client/, a Maven project of its own) needs the generated stubs and
   * Vert.x's gRPC client, never the server: .ci/run also builds it on its own.
   */
  @Test
  void theClientLibraryKnowsNothingOfTheServer() {
    noClasses().that().resideInAPackage("io.sluice.client..")
        .should().dependOnClassesThat().resideOutsideOfPackages("io.sluice.client..", "io.sluice.grpc.v1..", "io.vertx..",
            "com.google.protobuf..", "jakarta.servlet..", "java..")
        .check(MAIN);
  }

  /** The load generator ships in its own jar (sluice-bench.jar): nothing of the service may need it. */
  @Test
  void nothingDependsOnTheLoadGenerator() {
    noClasses().that().resideOutsideOfPackage("io.sluice.bench..")
        .should().dependOnClassesThat().resideInAnyPackage("io.sluice.bench..")
        .check(MAIN);
  }

  @Test
  void onlyThePlatformAdapterReachesIntoVertxInternals() {
    noClasses().that().resideOutsideOfPackage("io.sluice.platform..")
        .should().dependOnClassesThat().resideInAnyPackage("io.vertx..impl..", "io.vertx..internal..")
        .check(MAIN);
  }

  /** A decision's policy (Limiter and its nested classes) asks Redis only through the check store: one place where a check speaks to Redis. */
  @Test
  void thePolicyOfADecisionSpeaksToRedisOnlyThroughTheCheckStore() {
    noClasses().that().haveNameMatching("io\\.sluice\\.limiter\\.Limiter(\\$.*)?")
        .should().callMethodWhere(com.tngtech.archunit.core.domain.JavaCall.Predicates.target(
            com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner(
                com.tngtech.archunit.base.DescribedPredicate.describe("a Redis connection or pipeline",
                    owner -> owner.getPackageName().equals("io.sluice.redis") && !owner.getSimpleName().startsWith("RedisKeys")
                        && !owner.getSimpleName().equals("RedisFaults") && !owner.getSimpleName().equals("Unavailable")
                        && !owner.getSimpleName().equals("RedisFault")))))
        .check(MAIN);
  }

  /** The picture of docs/architecture.md, layer by layer: a layer is used only by the layers above it. */
  @Test
  void theLayersOfDocsArchitectureHold() {
    com.tngtech.archunit.library.Architectures.layeredArchitecture().consideringOnlyDependenciesInLayers()
        .layer("root").definedBy("io.sluice")
        .layer("commands").definedBy("io.sluice.cli..", "io.sluice.demo..")
        .layer("wire").definedBy("io.sluice.grpc..", "io.sluice.ops..")
        .layer("policy").definedBy("io.sluice.limiter..", "io.sluice.throttle..", "io.sluice.envoy..", "io.sluice.audit..")
        .layer("data").definedBy("io.sluice.limits..")
        .layer("infrastructure").definedBy("io.sluice.redis..", "io.sluice.telemetry..", "io.sluice.security..", "io.sluice.platform..")
        .layer("settings").definedBy("io.sluice.config..")
        .whereLayer("root").mayNotBeAccessedByAnyLayer()
        .whereLayer("commands").mayOnlyBeAccessedByLayers("root")
        .whereLayer("wire").mayOnlyBeAccessedByLayers("root", "commands")
        .whereLayer("policy").mayOnlyBeAccessedByLayers("root", "commands", "wire")
        .whereLayer("data").mayOnlyBeAccessedByLayers("root", "commands", "wire", "policy")
        .whereLayer("infrastructure").mayOnlyBeAccessedByLayers("root", "commands", "wire", "policy", "data")
        .check(MAIN);
  }
}
