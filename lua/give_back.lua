-- Sluice give-back: returns to a bucket the tokens a check took, for a CheckBatch with all_or_nothing
-- in which another check was refused. As if the check had never taken them: the stored count is at
-- its time ts, so adding the tokens there is exact, capped at the capacity the bucket cannot exceed.
--
-- KEYS[1]  rate_limit:{<user>}:<rule>   the bucket hash {tokens, ts}
-- ARGV[1]  capacity
-- ARGV[2]  tokens to give back
-- For a rule with a calendar quota, its use is given back too, when it was taken in the period now:
-- KEYS[2]  quota:{<user>}:<rule>        the quota hash {start, used}
-- ARGV[3..6] the first instants of four periods, ARGV[7] the clock offset, as lua/token_bucket.lua reads them
--
-- Reply: 1 when given back; 0 when the bucket is gone (it expired full: nothing to give back).
-- The key's expiry is left alone: the bucket is full sooner than it says, and a full bucket's key
-- that lingers reads as full.

if KEYS[2] then
  local clock = redis.call('TIME')
  local now_q = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) + tonumber(ARGV[7])
  local start = ARGV[3]
  if now_q >= tonumber(ARGV[5]) then
    start = ARGV[5]
  elseif now_q >= tonumber(ARGV[4]) then
    start = ARGV[4]
  end
  local state = redis.call('HMGET', KEYS[2], 'start', 'used')
  -- A period that ended since took its use with it: nothing to give back to the new one.
  if state[1] and tonumber(state[1]) == tonumber(start) then
    redis.call('HSET', KEYS[2], 'used', math.max(0, tonumber(state[2]) - tonumber(ARGV[2])))
  end
end

local tokens = redis.call('HGET', KEYS[1], 'tokens')
if not tokens then
  return 0
end
local back = math.min(tonumber(ARGV[1]), tonumber(tokens) + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'tokens', back)
return 1
