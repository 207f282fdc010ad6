-- Sluice concurrency lease: at most maxInFlight leases of one user and rule held at once, across the
-- fleet; a lease not released (a crashed backend) ends at its expiry, on Redis's clock.
--
-- KEYS[1]  leases:{<user>}:<rule>   sorted set: lease id -> the Redis time (ms) it ends
-- Acquire (and KEYS[2] ban:{<user>}, KEYS[3] ban:{<user>}:<rule>: a ban refuses, as for a check):
-- ARGV[1]  'acquire'
-- ARGV[2]  maxInFlight
-- ARGV[3]  leaseMs
-- ARGV[4]  the new lease's secret (the last part of its id: the key names the owner)
-- With the plan stored for the user to choose by (the request named none, and plans change the
-- rule's limit): KEYS[4] tier:{<user>}, and from ARGV[5] on, for each plan that changes the rule,
-- its name, maxInFlight and leaseMs; the plan stored decides, else ARGV[2] and ARGV[3] do.
--   Reply { 1, in_flight, lease_ms, stored }          granted: in_flight counts it
--         { 0, in_flight, retry_after_ms, stored }    refused: retry_after_ms until the earliest lease ends
--         { 2, 0, ban_remaining_ms, stored }          banned
--   stored: the plan stored for the user ('' for none, or not read)
-- Release:
-- ARGV[1]  'release'
-- ARGV[2]  the lease's secret
--   Reply 1 when released, 0 when it was not held (ended, released before, or never granted)

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

-- Leases that ended are gone before anything is counted or released.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if ARGV[1] == 'release' then
  return redis.call('ZREM', KEYS[1], ARGV[2])
end

local max_in_flight = tonumber(ARGV[2])
local lease_ms = tonumber(ARGV[3])
local stored = ''
if #KEYS == 4 then
  stored = redis.call('GET', KEYS[4]) or ''
  for i = 5, #ARGV, 3 do
    if ARGV[i] == stored then
      max_in_flight = tonumber(ARGV[i + 1])
      lease_ms = tonumber(ARGV[i + 2])
      break
    end
  end
end

for i = 2, 3 do
  local until_ms = redis.call('HGET', KEYS[i], 'until')
  if until_ms and tonumber(until_ms) > now_ms then
    return { 2, 0, tonumber(until_ms) - now_ms, stored }
  end
end

local held = redis.call('ZCARD', KEYS[1])
if held >= max_in_flight then
  local earliest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return { 0, held, math.max(1, tonumber(earliest[2]) - now_ms), stored }
end
redis.call('ZADD', KEYS[1], now_ms + lease_ms, ARGV[4])
-- The set lives as long as its last lease.
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]))
return { 1, held + 1, lease_ms, stored }
