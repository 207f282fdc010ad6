package io.sluice.redis;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Joins redis-server processes on this machine, started with {@code --cluster-enabled yes}, into one
 * Redis Cluster: the 16384 slots shared out evenly over the masters, each replica following one of
 * them. For the local fleet and the tests, not for production (use {@code redis-cli --cluster create}
 * there). Blocking: call it from a plain thread, never an event loop.
 */
public final class LocalCluster {

  private LocalCluster() {
  }

  /**
   * @param masters  ports of the nodes that serve the slots
   * @param replicas ports of the nodes that follow them, in turn (replica i follows master i mod masters)
   * @throws TimeoutException when the Cluster is not whole (every slot served, every replica in sync) in time
   */
  public static void form(List<Integer> masters, List<Integer> replicas, long timeoutMs) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      List<Redis> masterClients = masters.stream().map(port -> Redis.createClient(vertx, "redis://127.0.0.1:" + port)).toList();
      List<Redis> replicaClients = replicas.stream().map(port -> Redis.createClient(vertx, "redis://127.0.0.1:" + port)).toList();
      List<Redis> all = java.util.stream.Stream.concat(masterClients.stream(), replicaClients.stream()).toList();
      List<Integer> allPorts = java.util.stream.Stream.concat(masters.stream(), replicas.stream()).toList();
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
      for (int i = 1; i < allPorts.size(); i++) {
        await(all.get(0).send(Request.cmd(Command.CLUSTER).arg("MEET").arg("127.0.0.1").arg(allPorts.get(i))));
      }
      for (int i = 0; i < masters.size(); i++) {
        Request addSlots = Request.cmd(Command.CLUSTER).arg("ADDSLOTS");
        for (int slot = i * HashSlot.SLOTS / masters.size(); slot < (i + 1) * HashSlot.SLOTS / masters.size(); slot++) {
          addSlots.arg(slot);
        }
        await(masterClients.get(i).send(addSlots));
      }
      until(deadline, "every node knows the " + all.size() + " nodes", () -> all.stream().allMatch(node ->
          info(node, Request.cmd(Command.CLUSTER).arg("INFO")).contains("cluster_known_nodes:" + all.size())));
      for (int i = 0; i < replicaClients.size(); i++) {
        String masterId = await(masterClients.get(i % masters.size()).send(Request.cmd(Command.CLUSTER).arg("MYID"))).toString();
        await(replicaClients.get(i).send(Request.cmd(Command.CLUSTER).arg("REPLICATE").arg(masterId)));
      }
      until(deadline, "every slot served and every replica in sync", () ->
          all.stream().allMatch(node -> info(node, Request.cmd(Command.CLUSTER).arg("INFO")).contains("cluster_state:ok"))
              && replicaClients.stream().allMatch(node -> info(node, Request.cmd(Command.INFO).arg("replication")).contains("master_link_status:up")));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static String info(Redis node, Request request) {
    try {
      return await(node.send(request)).toString();
    } catch (Exception e) {
      return "";
    }
  }

  private static void until(long deadlineNanos, String what, BooleanSupplier done) throws Exception {
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadlineNanos) {
        throw new TimeoutException("the local cluster did not come together: not yet " + what);
      }
      // A Cluster converges by gossip, every 100 ms or so: there is nothing to be told of, only to look again.
      Thread.sleep(50);
    }
  }

  private static Response await(Future<Response> reply) throws Exception {
    return reply.await(10, TimeUnit.SECONDS);
  }
}
