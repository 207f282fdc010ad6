-- Sluice adaptive throttling: one instance at a time runs the controller, under a lease, and the
-- fleet's controller runs with one set of settings.
--
-- KEYS[1]  {sluice}:throttle:leader      the holder's instance id, expiring with the lease
-- KEYS[2]  {sluice}:throttle:settings    the settings the controller runs with (JSON): the holder's
-- KEYS[3]  {sluice}:throttle:candidates  a sorted set: settings (JSON) -> until when a live instance
--                                        has them (Redis ms)
-- ARGV[1]  this instance's id
-- ARGV[2]  lease length in ms (a few windows, so a dead leader is replaced quickly)
-- ARGV[3]  this instance's throttle settings (JSON)
--
-- The lease goes only to an instance whose settings are those in force while any instance that has
-- them is live; once none is, to any, whose settings are then in force. So a fleet whose instances
-- disagree keeps one truth, and a rolling change of the settings takes effect once the last
-- instance with the old ones is gone.
--
-- Reply: {1 when this instance holds the lease (renewed or newly taken) else 0, the settings in
-- force ('' when none are stored yet)}. Redis TIME is the clock, so instances' clocks never matter.

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local lease_ms = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now_ms)
redis.call('ZADD', KEYS[3], now_ms + lease_ms, ARGV[3])
-- The set outlives every entry in it (instances' leases differ when their windows do).
if redis.call('PTTL', KEYS[3]) < lease_ms then
  redis.call('PEXPIRE', KEYS[3], lease_ms)
end
local in_force = redis.call('GET', KEYS[2]) or ''
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], lease_ms)
  if in_force ~= ARGV[3] then
    -- Stored by an instance before this script kept settings, or deleted: the holder's are in force.
    redis.call('SET', KEYS[2], ARGV[3])
  end
  return {1, ARGV[3]}
end
if holder then
  return {0, in_force}
end
if in_force ~= '' and in_force ~= ARGV[3] and redis.call('ZSCORE', KEYS[3], in_force) then
  return {0, in_force}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', lease_ms)
redis.call('SET', KEYS[2], ARGV[3])
return {1, ARGV[3]}
