package io.sluice.limiter;

import io.sluice.redis.LuaScript;

import java.util.List;

/**
 * The scripts of the check path, loaded on every check connection before it serves.
 *
 * @param check       lua/token_bucket.lua: bans, bucket, violations and bans made, in one call
 * @param giveBack    lua/give_back.lua: tokens returned by a CheckBatch that was all or nothing
 * @param fixedWindow lua/fixed_window.lua: envoyproxy/ratelimit's counting, for Envoy rules that ask for it
 * @param concurrency lua/concurrency.lua: a rule's concurrency leases, acquired and released
 * @param adjust      lua/adjust.lua: a settled cost, taken from or given back to a bucket and its quota
 */
public record CheckScripts(LuaScript check, LuaScript giveBack, LuaScript fixedWindow, LuaScript concurrency, LuaScript adjust) {

  public static CheckScripts load() {
    return new CheckScripts(LuaScript.load("token_bucket"), LuaScript.load("give_back"), LuaScript.load("fixed_window"),
        LuaScript.load("concurrency"), LuaScript.load("adjust"));
  }

  public List<LuaScript> all() {
    return List.of(check, giveBack, fixedWindow, concurrency, adjust);
  }
}
