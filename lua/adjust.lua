-- Sluice settled cost: after the work, the backend says what it really cost, and the difference is
-- taken from (delta > 0) or given back to (delta < 0) the user's bucket and quota, atomically.
--
-- KEYS[1]  rate_limit:{<user>}:<rule>           the bucket hash {tokens, ts}, as lua/token_bucket.lua keeps it
-- KEYS[2]  adjusted:{<user>}:<rule>:<id>        remembers an adjustment id, so that a retry is applied once
-- KEYS[3]  quota:{<user>}:<rule>                for a rule with a calendar quota: its hash {start, used}
-- ARGV[1]  capacity
-- ARGV[2]  refillPerSecond
-- ARGV[3]  delta: tokens to take (> 0) or give back (< 0)
-- ARGV[4]  how long (ms) an adjustment id is remembered; 0 when the call has none
-- With a quota, ARGV[5..11] as lua/token_bucket.lua's quota arguments: limit, the first instants of
-- four periods, the clock offset, and (unused here) whether a refusal counts toward a ban.
--
-- A positive delta may take the bucket below zero (the user then waits until the debt is refilled),
-- never so far that it takes more than ten years to refill; the quota's use may pass its limit.
-- A negative one gives back no more than a full bucket, and no quota below zero use.
--
-- Reply { applied, remaining, quota_remaining }: applied 0 when the id was seen before (nothing
-- changed); remaining the whole tokens now (negative: a debt); quota_remaining the quota's tokens
-- left in the period (negative: over it), '' without a quota.

local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
local EPSILON = 1e-9
local MAX_REFILL_SECONDS = 10 * 365 * 86400

local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local delta = tonumber(ARGV[3])
local remember_ms = tonumber(ARGV[4])

-- An id seen before changes nothing; it is remembered only once everything else is written (below),
-- so that a call that fails on the way leaves it unused for the retry. Scripts run one at a time:
-- of two concurrent calls of one id, the second sees the first's.
local applied = 1
if remember_ms > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  applied = 0
end

local tokens = capacity
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
if state[1] then
  tokens = math.min(capacity, tonumber(state[1]) + math.max(0, now_us - tonumber(state[2])) * rate / 1000000)
end
if applied == 1 then
  tokens = math.min(capacity, math.max(capacity - rate * MAX_REFILL_SECONDS, tokens - delta))
  if capacity - tokens > EPSILON then
    redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now_us)
    redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) * 1000 / rate)))
  else
    -- Full: an absent bucket is a full one.
    redis.call('DEL', KEYS[1])
  end
end

local quota_remaining = ''
if KEYS[3] then
  local limit = tonumber(ARGV[5])
  local offset = tonumber(ARGV[10])
  local now_q = now_ms + offset
  local i = 6
  if now_q >= tonumber(ARGV[8]) then
    i = 8
  elseif now_q >= tonumber(ARGV[7]) then
    i = 7
  end
  local start = tonumber(ARGV[i])
  local ends = tonumber(ARGV[i + 1])
  local used = 0
  local stored = redis.call('HMGET', KEYS[3], 'start', 'used')
  if stored[1] and tonumber(stored[1]) == start then
    used = tonumber(stored[2]) or 0
  end
  if applied == 1 then
    used = math.max(0, used + delta)
    redis.call('HSET', KEYS[3], 'start', start, 'used', used)
    -- Never into the past, which would delete the count (an instance whose clock is a period off).
    redis.call('PEXPIREAT', KEYS[3], math.max(now_ms + 1000, ends - offset))
  end
  quota_remaining = limit - used
end

if applied == 1 and remember_ms > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', remember_ms)
end
return { applied, math.floor(tokens + EPSILON), quota_remaining }
