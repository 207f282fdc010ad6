-- Sluice manual ban, made by an operator through the admin API.
--
-- KEYS[1]  ban:{<user>} (every action) or ban:{<user>}:<action>
-- ARGV[1]  duration in ms, >= 1
-- ARGV[2]  reason
-- ARGV[3]  user, ARGV[4] action ('' for every action), ARGV[5] scope ("user" or "action")
--
-- Reply: the ban's length in ms. Level 0 marks a manual ban: it is not part of an escalation.
-- A manual ban replaces any ban already on that key.

local clock = redis.call('TIME')
local now_ms = math.floor((tonumber(clock[1]) * 1000000 + tonumber(clock[2])) / 1000)
local duration_ms = tonumber(ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1],
  'until', string.format('%.0f', now_ms + duration_ms), 'level', 0, 'scope', ARGV[5], 'reason', ARGV[2],
  'user', ARGV[3], 'action', ARGV[4], 'rule', '', 'violations', 0, 'created', string.format('%.0f', now_ms))
redis.call('PEXPIRE', KEYS[1], duration_ms)
return duration_ms
