-- The plain token bucket a Java team would write: Redis TIME, HMGET, HSET, PEXPIRE, nothing else
-- (no bans, no violations). The yardstick of Redis work per decision in docs/benchmarks.md.
-- KEYS[1] the bucket; ARGV[1] capacity, ARGV[2] refill per second, ARGV[3] cost. Reply: 1 allowed, 0 denied.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2]) / 1000000
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = capacity
if state[1] then
  tokens = math.min(capacity, tonumber(state[1]) + (now - tonumber(state[2])) * refill)
end
local allowed = tokens >= cost
if allowed then
  tokens = tokens - cost
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / refill / 1000) + 1)
return allowed and 1 or 0
