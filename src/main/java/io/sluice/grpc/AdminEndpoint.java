package io.sluice.grpc;

import io.sluice.grpc.v1.AdminService;
import io.sluice.grpc.v1.BanRequest;
import io.sluice.grpc.v1.ListBansRequest;
import io.sluice.grpc.v1.ListBansResponse;
import io.sluice.grpc.v1.UnbanRequest;
import io.sluice.grpc.v1.UnbanResponse;
import io.sluice.limiter.BanAdmin;
import io.sluice.limiter.BanInfo;
import io.vertx.core.Future;

/** {@code sluice.v1.Admin}: maps the wire messages to {@link BanAdmin} and back. */
public final class AdminEndpoint extends AdminService {

  private final BanAdmin bans;

  public AdminEndpoint(BanAdmin bans) {
    this.bans = bans;
  }

  @Override
  public Future<ListBansResponse> listBans(ListBansRequest request) {
    return bans.list(request.getUserId())
        .map(list -> ListBansResponse.newBuilder().addAllBans(list.stream().map(AdminEndpoint::toWire).toList()).build())
        .recover(failure -> Future.failedFuture(GrpcErrors.toStatus(failure)));
  }

  @Override
  public Future<io.sluice.grpc.v1.BanInfo> ban(BanRequest request) {
    return bans.ban(request.getUserId(), request.getAction(), request.getDurationSeconds(), request.getReason())
        .map(AdminEndpoint::toWire)
        .recover(failure -> Future.failedFuture(GrpcErrors.toStatus(failure)));
  }

  @Override
  public Future<UnbanResponse> unban(UnbanRequest request) {
    return bans.unban(request.getUserId(), request.getAction())
        .map(removed -> UnbanResponse.newBuilder().setRemoved(removed).build())
        .recover(failure -> Future.failedFuture(GrpcErrors.toStatus(failure)));
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
