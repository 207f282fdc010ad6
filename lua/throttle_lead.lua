-- Sluice adaptive throttling: one instance at a time runs the controller, under a lease.
--
-- KEYS[1]  sluice:throttle:leader   the holder's instance id, expiring with the lease
-- ARGV[1]  this instance's id
-- ARGV[2]  lease length in ms (a few windows, so a dead leader is replaced quickly)
--
-- Reply: 1 when this instance holds the lease (renewed or newly taken), else 0.

local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
