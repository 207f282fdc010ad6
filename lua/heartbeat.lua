-- Sluice fleet presence: each instance announces itself and what it is doing, and learns how many
-- instances are live.
--
-- KEYS[1]  {sluice}:instances        a sorted set: instance id -> when its announcement ends (Redis ms)
-- KEYS[2]  {sluice}:instance-status  a hash: instance id -> its status (JSON, as the instance wrote it)
-- ARGV[1]  this instance's id
-- ARGV[2]  how long the announcement lasts, in ms (a few heartbeats, so one late beat changes nothing)
-- ARGV[3]  "leave" when the instance stops; anything else announces it
-- ARGV[4]  its status, when it announces itself
--
-- Reply: the number of live instances, this one included unless it left.
-- Redis TIME is the clock, so instances' clocks never matter.

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl_ms = tonumber(ARGV[2])
-- An instance that stopped beating goes with its status.
local ended = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if #ended > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
  -- In chunks: unpack has a limit of a few thousand values (a clock jump could end that many at once).
  for first = 1, #ended, 500 do
    redis.call('HDEL', KEYS[2], unpack(ended, first, math.min(first + 499, #ended)))
  end
end
if ARGV[3] == 'leave' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], now_ms + ttl_ms, ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4] or '{}')
  -- When every instance is gone the set goes too.
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
  redis.call('PEXPIRE', KEYS[2], ttl_ms)
end
return redis.call('ZCARD', KEYS[1])
