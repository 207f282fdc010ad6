-- Sluice token bucket: one atomic decision per call.
--
-- KEYS[1]  the bucket hash, rate_limit:{<user>}:<action>
-- ARGV[1]  capacity          whole tokens, >= 1
-- ARGV[2]  refillPerSecond   tokens added per second, > 0 (fractions allowed)
-- ARGV[3]  cost              tokens this request takes, 1..capacity
--
-- Reply: { allowed (1|0), remaining, retry_after_ms, reset_after_ms }
--   remaining       whole tokens left after this request
--   retry_after_ms  0 when allowed, else ms until `cost` tokens exist (rounded up)
--   reset_after_ms  ms until the bucket is full again (rounded up)
--
-- State is { tokens, ts }: the token count (a double, written with %.17g so it
-- survives the string round trip exactly) at Redis time ts (microseconds).
-- Redis TIME is the only clock. An absent key is a full bucket, so the key is
-- set to expire exactly when the bucket would be full again.

local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

-- Absorbs the rounding of refill arithmetic so that a token that is due is never refused.
local EPSILON = 1e-9

local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local tokens = capacity
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
if state[1] then
  local elapsed_us = math.max(0, now_us - tonumber(state[2]))
  tokens = math.min(capacity, tonumber(state[1]) + elapsed_us * rate / 1000000)
end

local allowed = 0
local retry_after_ms = 0
if tokens + EPSILON >= cost then
  allowed = 1
  tokens = math.max(0, tokens - cost)
else
  retry_after_ms = math.ceil((cost - tokens) * 1000 / rate)
end

local reset_after_ms = 0
if capacity - tokens > EPSILON then
  reset_after_ms = math.ceil((capacity - tokens) * 1000 / rate)
end

-- A denied request changes nothing: the stored state already yields the same
-- refill, so writing would only cost Redis work under attack.
if allowed == 1 then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', now_us))
  redis.call('PEXPIRE', KEYS[1], math.max(1, reset_after_ms))
end

return { allowed, math.floor(tokens + EPSILON), retry_after_ms, reset_after_ms }
