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
-- A choice, settled on what operators stored for the user as the check was decided (lua/token_bucket.lua's
-- choice): ARGV[5] 'choice', ARGV[6] what it reads (1: the plan stored for the user, 2: the user's
-- override of the rule, 3: both), ARGV[7] the number of candidates n, then ten arguments for each
-- candidate: its tier's name ('' for the first, the rule without a plan or the request's plan),
-- capacity, refill, and the seven quota arguments (a limit of 0: no quota). KEYS[3] is then always
-- the quota's, followed by tier:{<user>} (when the plan is read) and override:{<user>}:<rule> (when
-- the override is). ARGV[1] and ARGV[2] are unused; the candidate named as the stored tier decides,
-- else the first, and a live override gives it its own capacity and refill.
--
-- A positive delta may take the bucket below zero (the user then waits until the debt is refilled),
-- never so far that it takes more than ten years to refill; the quota's use may pass its limit.
-- A negative one gives back no more than a full bucket, and no quota below zero use.
--
-- Reply { applied, remaining, quota_remaining, stored_tier, overridden }: applied 0 when the id was
-- seen before (nothing changed); remaining the whole tokens now (negative: a debt); quota_remaining
-- the quota's tokens left in the period (negative: over it), '' without a quota; stored_tier the plan
-- stored for the user ('' for none, or not read); overridden 1 when an override's numbers settled it.

local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)
local EPSILON = 1e-9
local MAX_REFILL_SECONDS = 10 * 365 * 86400

local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local delta = tonumber(ARGV[3])
local remember_ms = tonumber(ARGV[4])
-- Where the quota's arguments start (its limit); nil without a quota.
local q = nil
if KEYS[3] then
  q = 5
end
local stored = ''
local overridden = 0

if ARGV[5] == 'choice' then
  local reads = tonumber(ARGV[6])
  local n = tonumber(ARGV[7])
  local k = 4
  if reads % 2 == 1 then
    stored = redis.call('GET', KEYS[k]) or ''
    k = k + 1
  end
  local at = 8
  for candidate = 2, n do
    if stored ~= '' and ARGV[8 + (candidate - 1) * 10] == stored then
      at = 8 + (candidate - 1) * 10
      break
    end
  end
  capacity = tonumber(ARGV[at + 1])
  rate = tonumber(ARGV[at + 2])
  q = nil
  if tonumber(ARGV[at + 3]) > 0 then
    q = at + 3
  end
  if reads >= 2 then
    -- As lua/token_bucket.lua reads an override: a whole capacity and a refill that fills it within ten years, else none.
    local numbers = redis.pcall('HMGET', KEYS[k], 'capacity', 'refill')
    if not numbers.err then
      local c = tonumber(numbers[1])
      local r = tonumber(numbers[2])
      if c and r and c >= 1 and c == math.floor(c) and c <= 1e9 and r > 0 and r <= 1e9 and c / r <= MAX_REFILL_SECONDS then
        capacity = c
        rate = r
        overridden = 1
      end
    end
  end
end

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
if q then
  local limit = tonumber(ARGV[q])
  local offset = tonumber(ARGV[q + 5])
  local now_q = now_ms + offset
  local i = q + 1
  if now_q >= tonumber(ARGV[q + 3]) then
    i = q + 3
  elseif now_q >= tonumber(ARGV[q + 2]) then
    i = q + 2
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
return { applied, math.floor(tokens + EPSILON), quota_remaining, stored, overridden }
