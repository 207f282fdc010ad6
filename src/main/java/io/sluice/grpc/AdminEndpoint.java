package io.sluice.grpc;

import io.sluice.grpc.v1.BanRequest;
import io.sluice.grpc.v1.GetLimitsRequest;
import io.sluice.grpc.v1.GetThrottleRequest;
import io.sluice.grpc.v1.ThrottleStatus;
import io.sluice.grpc.v1.ThrottleSubject;
import io.sluice.throttle.ThrottleReport;
import io.vertx.redis.client.Redis;
import io.sluice.grpc.v1.LimitsStatus;
import io.sluice.limits.LimitsParser;
import io.sluice.limits.LiveLimits;
import io.sluice.grpc.v1.ListBansRequest;
import io.sluice.grpc.v1.ListBansResponse;
import io.sluice.grpc.v1.UnbanRequest;
import io.sluice.grpc.v1.UnbanResponse;
import io.sluice.limiter.BanAdmin;
import io.sluice.limiter.BanInfo;
import io.sluice.limiter.TierAdmin;
import io.sluice.grpc.v1.GetTierRequest;
import io.sluice.grpc.v1.SetTierRequest;
import io.sluice.grpc.v1.StoredTier;
import io.sluice.grpc.v1.OverrideRequest;
import io.sluice.grpc.v1.SetOverrideRequest;
import io.sluice.grpc.v1.StoredOverride;
import io.sluice.audit.AuditTrail;
import io.sluice.grpc.v1.AuditEntry;
import io.sluice.grpc.v1.ListAuditRequest;
import io.sluice.grpc.v1.ListAuditResponse;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.List;

/** {@code sluice.v1.Admin}: maps the wire messages to {@link BanAdmin} and {@link TierAdmin} and back. */
public final class AdminEndpoint {

  private final BanAdmin bans;
  private final TierAdmin tiers;
  private final LiveLimits limits;
  private final Redis redis;

  private final AuditTrail audit;

  public AdminEndpoint(BanAdmin bans, TierAdmin tiers, LiveLimits limits, Redis redis, AuditTrail audit) {
    this.audit = audit;
    this.bans = bans;
    this.tiers = tiers;
    this.limits = limits;
    this.redis = redis;
  }

  public Future<StoredTier> setTier(AuditTrail.Actor actor, SetTierRequest request) {
    boolean clear = request.getTier().isEmpty();
    return audit.recorded(actor, clear ? "tier.clear" : "tier.set", request.getUserId(), "", clear ? "" : "tier=" + request.getTier(),
        clear ? tiers.clear(request.getUserId()) : tiers.set(request.getUserId(), request.getTier())).map(AdminEndpoint::toWire);
  }

  public Future<StoredTier> getTier(GetTierRequest request) {
    return tiers.get(request.getUserId()).map(AdminEndpoint::toWire);
  }

  public Future<StoredOverride> setOverride(AuditTrail.Actor actor, SetOverrideRequest request) {
    return audit.recorded(actor, "override.set", request.getUserId(), request.getAction(),
        AuditTrail.overrideDetail(request.getCapacity(), request.getRefillPerSecond(), request.getUntil(), request.getSeconds()),
        tiers.setOverride(request.getUserId(), request.getAction(), request.getCapacity(), request.getRefillPerSecond(),
            request.getUntil(), request.getSeconds())).map(AdminEndpoint::toWire);
  }

  public Future<StoredOverride> getOverride(OverrideRequest request) {
    return tiers.getOverride(request.getUserId(), request.getAction()).map(AdminEndpoint::toWire);
  }

  public Future<StoredOverride> clearOverride(AuditTrail.Actor actor, OverrideRequest request) {
    return audit.recorded(actor, "override.clear", request.getUserId(), request.getAction(), "",
        tiers.clearOverride(request.getUserId(), request.getAction())).map(AdminEndpoint::toWire);
  }

  public Future<ListAuditResponse> listAudit(ListAuditRequest request) {
    return audit.recent(request.getCount() == 0 ? 100 : (int) Math.min(request.getCount(), Integer.MAX_VALUE), request.getUserId())
        .map(entries -> ListAuditResponse.newBuilder().addAllEntries(entries.stream().map(entry -> AuditEntry.newBuilder()
            .setId(entry.id()).setAt(entry.atText()).setActor(entry.actor()).setVia(entry.via()).setAction(entry.action())
            .setUserId(entry.user()).setScope(entry.scope()).setOutcome(entry.outcome()).setDetail(entry.detail()).build()).toList()).build());
  }

  private static StoredOverride toWire(TierAdmin.StoredOverride stored) {
    return StoredOverride.newBuilder().setUserId(stored.userId()).setRule(stored.rule()).setExists(stored.exists())
        .setCapacity(stored.capacity()).setRefillPerSecond(stored.refillPerSecond()).setRemainingMs(stored.remainingMs()).build();
  }

  private static StoredTier toWire(TierAdmin.StoredTier stored) {
    return StoredTier.newBuilder().setUserId(stored.userId()).setTier(stored.tier()).setInForce(stored.inForce()).build();
  }

  public Future<ThrottleStatus> getThrottle(GetThrottleRequest request) {
    return ThrottleReport.report(redis, bans.timeoutMs()).map(report -> {
      ThrottleStatus.Builder status = ThrottleStatus.newBuilder().setSettingsJson(report.settings().encode());
      report.subjects().forEach(subject -> status.addSubjects(ThrottleSubject.newBuilder()
          .setSubject(subject.subject())
          .setFactor(subject.factor())
          .setP95Ms(subject.p95Ms())
          .setTargetMs(subject.targetMs())
          .setBaselineMs(subject.baselineMs())
          .setReason(subject.reason())
          .setUpdatedAt(subject.updatedAt())));
      return status.build();
    });
  }

  public Future<LimitsStatus> getLimits(GetLimitsRequest request) {
    io.sluice.limits.LimitsStatus status = limits.status();
    LimitsStatus.Builder wire = LimitsStatus.newBuilder()
        .setVersion(status.current().version())
        .setSource(status.current().source())
        .setDigest(status.current().digest())
        .setPublishedVersion(status.publishedVersion())
        .setDocumentJson(LimitsParser.toJson(status.current()).encode())
        .setAppliedAt(status.appliedAt().toString())
        .setApplied(status.applied())
        .setRejected(status.rejected());
    if (status.lastRejection() != null) {
      wire.setLastRejectionSource(status.lastRejection().source())
          .setLastRejectionReason(status.lastRejection().reason())
          .setLastRejectionAt(status.lastRejection().at().toString())
          .setLastRejectionSuperseded(status.lastRejectionSuperseded());
    }
    return Future.succeededFuture(wire.build());
  }

  public Future<ListBansResponse> listBans(ListBansRequest request) {
    return bans.list(request.getUserId())
        .map(list -> ListBansResponse.newBuilder().addAllBans(list.stream().map(AdminEndpoint::toWire).toList()).build());
  }

  public Future<io.sluice.grpc.v1.BanInfo> ban(AuditTrail.Actor actor, BanRequest request) {
    return audit.recorded(actor, "ban", request.getUserId(), request.getAction(),
        AuditTrail.banDetail(request.getDurationSeconds(), request.getReason()),
        bans.ban(request.getUserId(), request.getAction(), request.getDurationSeconds(), request.getReason())).map(AdminEndpoint::toWire);
  }

  public Future<UnbanResponse> unban(AuditTrail.Actor actor, UnbanRequest request) {
    return audit.recorded(actor, "unban", request.getUserId(), request.getAction(), "", bans.unban(request.getUserId(), request.getAction()))
        .map(unbanned -> UnbanResponse.newBuilder().setRemoved(unbanned.removed())
            .setInstancesNotified((int) unbanned.instancesNotified())
            .setInstancesConfirmed((int) unbanned.instancesConfirmed()).build());
  }

  static io.sluice.grpc.v1.BanInfo toWire(BanInfo ban) {
    return io.sluice.grpc.v1.BanInfo.newBuilder()
        .setUserId(ban.userId())
        .setAction(ban.actionOrEmpty())
        .setScope(ban.scope())
        .setRemainingMs(ban.remainingMs())
        .setReason(ban.reason())
        .setLevel(ban.level())
        .setViolations(ban.violations())
        .build();
  }
}
