-- Sluice fixed window: envoyproxy/ratelimit's counting, for Envoy rules run with envoyAlgorithm
-- fixed_window. A window is `unit` seconds long and starts where Redis TIME divided by `unit` is
-- whole (second 0 of the minute, 00:00 of the day, as envoyproxy/ratelimit counts them). Its count
-- is kept in one hash per subject and rule (not one key per window, so that the key is declared
-- and the script is Cluster-safe), reset when a new window begins.
--
-- KEYS[1]  fixed_window:{<subject>}:<rule>   a hash {window, count}; expires with its window
-- ARGV[1]  limit         requests per unit (the caller compares; kept for operators reading the call)
-- ARGV[2]  unit          the window's length in seconds
-- ARGV[3]  hits          added to the count; 0 reads the count without adding
--
-- Reply: { count, seconds_until_the_window_ends, ms_until_the_window_ends }: the count after this
-- call's hits, what envoyproxy/ratelimit reports as duration_until_reset (unit - now % unit,
-- 1..unit), and the same to the millisecond (how long a refusal is certain to hold).

local time = redis.call('TIME')
local now = tonumber(time[1])
local unit = tonumber(ARGV[2])
local hits = tonumber(ARGV[3])
local window = now - now % unit

local state = redis.call('HMGET', KEYS[1], 'window', 'count')
local count = 0
if state[1] and tonumber(state[1]) == window then
  count = tonumber(state[2])
end
count = count + hits
if hits > 0 then
  redis.call('HSET', KEYS[1], 'window', window, 'count', count)
  redis.call('EXPIRE', KEYS[1], window + unit - now)
end
local left = window + unit - now
return { count, left, left * 1000 - math.floor(tonumber(time[2]) / 1000) }
