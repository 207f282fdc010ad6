-- Sluice give-back: returns to a bucket the tokens a check took, for a CheckBatch with all_or_nothing
-- in which another check was refused. As if the check had never taken them: the stored count is at
-- its time ts, so adding the tokens there is exact, capped at the capacity the bucket cannot exceed.
--
-- KEYS[1]  rate_limit:{<user>}:<rule>   the bucket hash {tokens, ts}
-- ARGV[1]  capacity
-- ARGV[2]  tokens to give back
--
-- Reply: 1 when given back; 0 when the bucket is gone (it expired full: nothing to give back).
-- The key's expiry is left alone: the bucket is full sooner than it says, and a full bucket's key
-- that lingers reads as full.

local tokens = redis.call('HGET', KEYS[1], 'tokens')
if not tokens then
  return 0
end
local back = math.min(tonumber(ARGV[1]), tonumber(tokens) + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'tokens', back)
return 1
