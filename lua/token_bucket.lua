-- Sluice check: ban check, token bucket, violation counting and ban creation in one atomic call.
-- All keys of one check carry the user's hash tag {<user>}, so the script is Redis-Cluster-safe; a
-- batch of several users' checks (below) is sent only to a single Redis, never to a Cluster.
--
-- KEYS[1]  rate_limit:{<user>}:<action>      the bucket hash {tokens, ts}
-- KEYS[2]  ban:{<user>}                      a user-wide ban (hash, see below)
-- KEYS[3]  ban:{<user>}:<action>             a ban of this action only
-- With an abuse policy (5 keys):
-- KEYS[4]  violations:{<user>}:<action>      list of recent denial times (ms), at most maxViolations long
-- KEYS[5]  ban_history:{<user>}[:<action>]   the escalation level of the ban subject (user or user+action)
-- For a rule in shadow mode with an abuse policy (7 keys), its bans live apart so they never block:
-- KEYS[5]  shadow_ban_history:{<user>}[:<action>]
-- KEYS[6]  shadow_ban:{<user>}
-- KEYS[7]  shadow_ban:{<user>}:<action>
-- A rule with a calendar quota has one key more, after the others (4, 6 or 8 keys):
-- KEYS[n]  quota:{<user>}:<action>           the quota hash {start, used}: tokens used in the period that began at start (ms)
--
-- ARGV[1]  capacity          whole tokens, >= 1
-- ARGV[2]  refillPerSecond   tokens added per second, > 0 (fractions allowed)
-- ARGV[3]  cost              tokens this request takes, 1..capacity; or the costs of several checks of
--                            this bucket that arrived together, separated by spaces (see below)
-- With an abuse policy:
-- ARGV[4]  maxViolations     denials within the window that trigger a ban
-- ARGV[5]  windowMs
-- ARGV[6]  banMs             the first ban's length
-- ARGV[7]  banMultiplier     each later ban within the history is this many times longer
-- ARGV[8]  maxBanMs          the cap
-- ARGV[9]  historyMs         how long after a ban ends its level is remembered
-- ARGV[10] scope             "action" or "user"
-- ARGV[11] rule, ARGV[12] user, ARGV[13] action: recorded in the ban for operators
-- With a quota, after those (q = 3, or 13 with an abuse policy):
-- ARGV[q+1]    limit             tokens per period
-- ARGV[q+2..5] the first instants (ms) of four periods in a row, as the instance's calendar computed
--              them: the one before its own now, its own, and two after; Redis's clock picks among them
-- ARGV[q+6]    clock offset (ms) added to Redis's clock for the quota: 0, except in tests, which drive
--              the calendar without waiting for it
-- ARGV[q+7]    '1' when a refusal for the quota counts toward a ban, else '0'
--
-- A batch decides the checks of several buckets (of several users, on a single Redis) in one call:
-- ARGV[1]  'batch'
-- ARGV[2]  each segment's key count, one digit per segment (3, 5 or 7; 4, 6 or 8 with a quota), e.g. '353'
-- then each segment's keys in KEYS, one segment after the other, and its arguments (3 without an
-- abuse policy, 13 with one, 7 more with a quota) in ARGV from ARGV[3] on, laid out as above. A segment is one bucket's
-- checks, as a call of one bucket would be; segments are decided in order and each writes what it
-- changed before the next starts, so a ban one makes is met by the next, exactly as by a later call.
--
-- What operators stored for the user is read in the same call: a segment may be a choice, written in
-- the layout as 'T', a digit of what it reads (1: the plan stored for the user, tier:{<user>}; 2: the
-- user's override of the rule, override:{<user>}:<rule>, a hash {capacity, refill}; 3: both), the
-- number of candidates n (1..9), then each candidate's key count, e.g. 'T1235' (a batch of one
-- choice is a single check). Its first keys are those it reads, in that order; its first n - 1
-- arguments the names of candidates 2..n, one per argument (a name may hold spaces); then come the
-- candidates' keys and arguments, each laid out as a segment. Candidate 1 is the rule without a
-- plan (or the plan the request named); the first candidate named exactly as the stored tier
-- decides, else candidate 1; an override, while its key lives (it expires on Redis's clock), gives
-- it its own capacity and refill. Each reply of a choice has thirteen fields, the ban fields padded:
-- the stored tier ('' for none or unread), 1 when an override decided (else 0), and its capacity
-- and refill as Redis holds them ('' without one).
--
-- A check may also take a concurrency lease (CheckRequest.acquire): its segment is written 'L' before
-- its layout (a digit or a choice), e.g. 'L5' or 'LT1235'. Its first key is the user's leases of the
-- rule, leases:{<user>}:<rule> (lua/concurrency.lua's sorted set: a lease's secret -> the Redis time it
-- ends), before the segment's own; its first arguments the new lease's secret, then each candidate's
-- maxInFlight and leaseMs (one pair, or n for a choice), before the segment's own. The check is
-- allowed only when the bucket, the quota and a slot all hold it; a full set refuses it ('concurrency'
-- in the limited field), takes nothing and counts toward no ban. Its reply has nineteen fields (the
-- ban, choice and quota fields padded, quota_remaining -1 without a quota): then 1 when the lease was
-- granted (else 0), the leases the user holds after it (0 when banned: not read), and leaseMs. Such a
-- segment holds one check.
--
-- A cost above the capacity of the rule that decides (possible only in a choice, where the caller
-- could not know the plan) is answered code 4 (too large), counted toward nothing.
--
-- A rule with a quota takes from the bucket and the quota both, or from neither: a check is allowed
-- when both hold its cost. Each reply of such a segment has sixteen fields (the ban and choice
-- fields padded): then the limit that refused ('rate', 'quota', or '' when none did), the quota's
-- tokens left in the period, and ms until the period ends. A refusal of the quota waits until the
-- period ends, and counts toward a ban only when ARGV[q+7] says so.
--
-- Reply (one per check when ARGV[3] holds several costs or for a batch: an array of them, in order):
--   { code, remaining, retry_after_ms, reset_after_ms, violations, ban_level, ban_scope, ban_reason, created },
-- of which an answer that involves no ban (ALLOW, and DENY without a ban made) sends the first five only:
--   code            1 ALLOW, 0 DENY, 2 BAN, 3 BAN that exists only in shadow (the caller never blocks on it),
--                   4 too large for the rule that decided (a choice only, see above)
--   remaining       whole tokens left after this request (0 for BAN)
--   retry_after_ms  0 when allowed; DENY: ms until `cost` tokens exist; BAN: ms until the ban ends
--   reset_after_ms  ms until the bucket is full again (0 for BAN: the bucket is not read)
--   violations      denials counted toward a ban in the window, whatever the decision (0 without an abuse policy)
--   ban_level       1 for a first ban, 2 for the next within the history...; 0 for a manual ban
--   created         1 when this very call created the ban, else 0
--
-- A ban hash holds: until (Redis ms), level, scope, reason, user, action, rule, violations, created.
-- While banned, a request takes no token, counts no violation, and does not extend the ban.
--
-- Bucket state is { tokens, ts }: the token count (a double) at Redis time ts (microseconds). Both
-- go to HSET as Lua numbers, which Redis writes with 17 significant digits, so the string round trip
-- is exact without a string.format of our own (that cost about 0.5 us per call). Redis TIME is the
-- only clock. An absent bucket is a full one, so the key expires exactly when the bucket would be
-- full again.

local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now_us / 1000)

-- Absorbs the rounding of refill arithmetic so that a token that is due is never refused.
local EPSILON = 1e-9
-- The longest a bucket may take to refill, as limits.json allows (LimitsParser.MAX_REFILL_SECONDS).
local MAX_REFILL_SECONDS = 10 * 365 * 86400

local function active_ban(key)
  local ban = redis.call('HMGET', key, 'until', 'level', 'scope', 'reason', 'violations')
  if ban[1] and tonumber(ban[1]) > now_ms then
    return ban
  end
  return nil
end

-- Denials within the window that count toward a ban: only the newest maxViolations are kept.
local function violations_in_window(key, window_ms)
  local count = 0
  for _, at in ipairs(redis.call('LRANGE', key, 0, -1)) do
    if tonumber(at) > now_ms - window_ms then
      count = count + 1
    end
  end
  return count
end

local replies = nil
local reply

-- One bucket's checks (a segment): its keys start after KEYS[k], its arguments after ARGV[a]. With
-- `tier` (a choice's stored tier, '' for none) each reply takes the choice's fields; `override` (a
-- choice's {capacity, refill}, as HMGET read them) replaces the rule's numbers.
local function decide_segment(k, a, nkeys, tier, override, lease)
  local abuse = nkeys >= 5
  local shadow = nkeys >= 7
  local capacity = tonumber(ARGV[a + 1])
  local rate = tonumber(ARGV[a + 2])
  if override then
    capacity = override[1]
    rate = override[2]
  end

  -- The reply every check of this segment gets while the user is banned. Most users are not banned:
  -- one EXISTS on both ban keys spares reading them. A ban made by an earlier segment of this call
  -- is in Redis already, so it is met here as a later call would meet it.
  local banned = nil
  local ban = nil
  if redis.call('EXISTS', KEYS[k + 2], KEYS[k + 3]) > 0 then
    ban = active_ban(KEYS[k + 2])
    local action_ban = active_ban(KEYS[k + 3])
    if action_ban and (not ban or tonumber(action_ban[1]) > tonumber(ban[1])) then
      ban = action_ban
    end
  end
  if ban then
    banned = { 2, 0, tonumber(ban[1]) - now_ms, 0, tonumber(ban[5]) or 0, tonumber(ban[2]) or 0, ban[3] or '', ban[4] or '', 0 }
  elseif shadow then
    ban = active_ban(KEYS[k + 6])
    local action_ban = active_ban(KEYS[k + 7])
    if action_ban and (not ban or tonumber(action_ban[1]) > tonumber(ban[1])) then
      ban = action_ban
    end
    if ban then
      banned = { 3, 0, tonumber(ban[1]) - now_ms, 0, tonumber(ban[5]) or 0, tonumber(ban[2]) or 0, ban[3] or '', ban[4] or '', 0 }
    end
  end

  -- A check that takes a lease counts the user's live ones, as lua/concurrency.lua does.
  local held = 0
  local granted = 0
  if lease and not banned then
    redis.call('ZREMRANGEBYSCORE', lease.key, '-inf', now_ms)
    held = redis.call('ZCARD', lease.key)
  end

  -- The bucket, read once per segment, unless banned; `dirty` once a check took from it, so that it
  -- is written once, at the end of the segment.
  local tokens = capacity
  local dirty = false
  local reset_after_ms = 0
  if not banned then
    local state = redis.call('HMGET', KEYS[k + 1], 'tokens', 'ts')
    if state[1] then
      local elapsed_us = math.max(0, now_us - tonumber(state[2]))
      tokens = math.min(capacity, tonumber(state[1]) + elapsed_us * rate / 1000000)
    end
  end

  -- The quota's period is the one of the four given that holds Redis's now (plus a test's offset).
  local quota = nil
  if nkeys % 2 == 0 then
    local q = a + (abuse and 13 or 3)
    local offset = tonumber(ARGV[q + 6])
    local now_q = now_ms + offset
    local i = 2
    if now_q >= tonumber(ARGV[q + 4]) then
      i = 4
    elseif now_q >= tonumber(ARGV[q + 3]) then
      i = 3
    end
    quota = { key = KEYS[k + nkeys], limit = tonumber(ARGV[q + 1]), start = tonumber(ARGV[q + i]), ends = tonumber(ARGV[q + i + 1]),
      now = now_q, offset = offset, abuse = ARGV[q + 7] == '1', used = 0, dirty = false }
    local state = redis.call('HMGET', quota.key, 'start', 'used')
    if state[1] and tonumber(state[1]) == quota.start then
      quota.used = tonumber(state[2]) or 0
    end
  end

  -- ARGV[a + 3] holds one cost, or, for several checks of this bucket that arrived together (Limiter
  -- groups them), their costs separated by spaces: they are decided one after the other at this
  -- instant, exactly as if they had come one by one within the same microsecond.
  local single = tonumber(ARGV[a + 3])
  local costs = nil
  local count = 1
  if not single then
    costs = {}
    for each in string.gmatch(ARGV[a + 3], '%S+') do
      costs[#costs + 1] = tonumber(each)
    end
    count = #costs
    replies = replies or {}
  end

  for i = 1, count do
    local cost = single or costs[i]
    local limited = ''
    if banned then
      reply = banned
    elseif cost > capacity or (quota and cost > quota.limit) then
      reply = { 4, math.floor(tokens + EPSILON), 0, 0, 0 }
    else
      local allowed = tokens + EPSILON >= cost
      local retry_after_ms = 0
      if quota and quota.used + cost > quota.limit then
        -- Nothing is taken from the bucket either; the quota's refusal holds until the period ends.
        allowed = false
        limited = 'quota'
        retry_after_ms = math.max(1, quota.ends - quota.now)
      elseif allowed and lease and held >= lease.max then
        -- Every slot is held: nothing is taken; a slot frees at the earliest lease's end, or sooner on a release.
        allowed = false
        limited = 'concurrency'
        local earliest = redis.call('ZRANGE', lease.key, 0, 0, 'WITHSCORES')
        retry_after_ms = math.max(1, tonumber(earliest[2]) - now_ms)
      elseif allowed then
        tokens = math.max(0, tokens - cost)
        dirty = true
        if quota then
          quota.used = quota.used + cost
          quota.dirty = true
        end
        if lease then
          redis.call('ZADD', lease.key, now_ms + lease.ms, lease.secret)
          held = held + 1
          granted = 1
          -- The set lives as long as its last lease.
          local last = redis.call('ZRANGE', lease.key, -1, -1, 'WITHSCORES')
          redis.call('PEXPIREAT', lease.key, tonumber(last[2]))
        end
      else
        limited = 'rate'
        retry_after_ms = math.ceil((cost - tokens) * 1000 / rate)
      end
      reset_after_ms = 0
      if capacity - tokens > EPSILON then
        reset_after_ms = math.ceil((capacity - tokens) * 1000 / rate)
      end
      -- A settled cost may have left a debt (lua/adjust.lua): no whole token is left then.
      local remaining = math.max(0, math.floor(tokens + EPSILON))

      if allowed then
        local counted = 0
        if abuse then
          counted = violations_in_window(KEYS[k + 4], tonumber(ARGV[a + 5]))
        end
        reply = { 1, remaining, 0, reset_after_ms, counted }
      elseif not abuse then
        -- Denied. A denial takes nothing from the bucket: its stored state already yields the same refill.
        reply = { 0, remaining, retry_after_ms, reset_after_ms, 0 }
      elseif limited == 'concurrency' or (limited == 'quota' and not quota.abuse) then
        -- Using up a period's allowance is no abuse, unless the rule says it is; holding every slot is none.
        reply = { 0, remaining, retry_after_ms, reset_after_ms, violations_in_window(KEYS[k + 4], tonumber(ARGV[a + 5])) }
      else
        local max_violations = tonumber(ARGV[a + 4])
        local window_ms = tonumber(ARGV[a + 5])
        -- Only the newest maxViolations denials matter: a ban is due when the oldest of them is in the window.
        redis.call('RPUSH', KEYS[k + 4], now_ms)
        redis.call('LTRIM', KEYS[k + 4], -max_violations, -1)
        local violations = violations_in_window(KEYS[k + 4], window_ms)
        if violations < max_violations then
          redis.call('PEXPIRE', KEYS[k + 4], window_ms)
          reply = { 0, remaining, retry_after_ms, reset_after_ms, violations, 0, '', '', 0 }
        else
          local ban_ms = tonumber(ARGV[a + 6])
          local multiplier = tonumber(ARGV[a + 7])
          local max_ban_ms = tonumber(ARGV[a + 8])
          local history_ms = tonumber(ARGV[a + 9])
          local scope = ARGV[a + 10]
          local level = redis.call('INCR', KEYS[k + 5])
          local length_ms = math.floor(math.min(max_ban_ms, ban_ms * multiplier ^ (level - 1)))
          redis.call('PEXPIRE', KEYS[k + 5], length_ms + history_ms)

          local ban_key = KEYS[k + 3]
          local banned_action = ARGV[a + 13]
          if scope == 'user' then
            ban_key = KEYS[k + 2]
            banned_action = ''
          end
          local code = 2
          if shadow then
            code = 3
            ban_key = scope == 'user' and KEYS[k + 6] or KEYS[k + 7]
          end
          local reason = string.format('%d violations of rule %s within %gs', violations, ARGV[a + 11], window_ms / 1000)
          redis.call('HSET', ban_key,
            'until', string.format('%.0f', now_ms + length_ms), 'level', level, 'scope', scope, 'reason', reason,
            'user', ARGV[a + 12], 'action', banned_action, 'rule', ARGV[a + 11], 'violations', violations,
            'created', string.format('%.0f', now_ms))
          redis.call('PEXPIRE', ban_key, length_ms)
          redis.call('DEL', KEYS[k + 4])
          reply = { code, 0, length_ms, reset_after_ms, violations, level, scope, reason, 1 }
          -- The checks after this one in the segment meet the ban, as they would read it back.
          banned = { code, 0, length_ms, 0, violations, level, scope, reason, 0 }
        end
      end
    end
    if tier then
      reply = { reply[1], reply[2], reply[3], reply[4], reply[5], reply[6] or 0, reply[7] or '', reply[8] or '', reply[9] or 0, tier,
        override and 1 or 0, override and override[3] or '', override and override[4] or '' }
    end
    if quota then
      if not tier then
        reply = { reply[1], reply[2], reply[3], reply[4], reply[5], reply[6] or 0, reply[7] or '', reply[8] or '', reply[9] or 0, '', 0, '',
          '' }
      end
      reply[14] = limited
      -- A settled cost (lua/adjust.lua) may have taken the use past the limit: nothing is left then.
      reply[15] = math.max(0, quota.limit - quota.used)
      reply[16] = math.max(1, quota.ends - quota.now)
    end
    if lease then
      if not tier and not quota then
        reply = { reply[1], reply[2], reply[3], reply[4], reply[5], reply[6] or 0, reply[7] or '', reply[8] or '', reply[9] or 0, '', 0, '',
          '' }
      end
      if not quota then
        reply[14] = limited
        reply[15] = -1
        reply[16] = 0
      end
      reply[17] = granted
      reply[18] = held
      reply[19] = lease.ms
    end
    if replies then
      replies[#replies + 1] = reply
    end
  end

  if dirty then
    redis.call('HSET', KEYS[k + 1], 'tokens', tokens, 'ts', now_us)
    redis.call('PEXPIRE', KEYS[k + 1], math.max(1, reset_after_ms))
  end
  if quota and quota.dirty then
    -- Gone when the period ends, on Redis's own clock (a test's offset taken back out).
    redis.call('HSET', quota.key, 'start', quota.start, 'used', quota.used)
    -- Never into the past, which would delete the count: the boundaries come from an instance's clock,
    -- which may be a period off Redis's.
    redis.call('PEXPIREAT', quota.key, math.max(now_ms + 1000, quota.ends - quota.offset))
  end
end

local function arg_count(nkeys)
  return (nkeys >= 5 and 13 or 3) + (nkeys % 2 == 0 and 7 or 0)
end

if ARGV[1] ~= 'batch' then
  -- A call of one bucket is one segment laid out as above.
  decide_segment(0, 0, #KEYS, nil, nil, nil)
  return replies or reply
end

-- A batch lists each segment's key count in ARGV[2] and its segments' keys and arguments follow one another.
local layout = ARGV[2]
replies = {}
local k = 0
local a = 2
local p = 1
-- An 'L' before a segment: where its lease's key and arguments are, for the candidate that decides.
local lease = nil
local function lease_of(candidate)
  if not lease then
    return nil
  end
  return { key = lease.key, secret = ARGV[lease.a + 1], max = tonumber(ARGV[lease.a + 2 * candidate]),
    ms = tonumber(ARGV[lease.a + 2 * candidate + 1]) }
end
while p <= #layout do
  if string.byte(layout, p) == 76 then
    -- 'L': the next segment (or choice) takes a lease too.
    k = k + 1
    local n = 1
    if string.byte(layout, p + 1) == 84 then
      n = string.byte(layout, p + 3) - 48
    end
    lease = { key = KEYS[k], a = a }
    a = a + 1 + 2 * n
    p = p + 1
  elseif string.byte(layout, p) == 84 then
    -- 'T': a choice, decided by what operators stored for the user: a plan, an override of the rule.
    local reads = string.byte(layout, p + 1) - 48
    local n = string.byte(layout, p + 2) - 48
    local stored = ''
    local chosen = 1
    if reads % 2 == 1 then
      k = k + 1
      stored = redis.call('GET', KEYS[k]) or ''
      if stored ~= '' then
        for candidate = 2, n do
          if ARGV[a + candidate - 1] == stored then
            chosen = candidate
            break
          end
        end
      end
    end
    local override = nil
    if reads >= 2 then
      k = k + 1
      -- Written by Admin/SetOverride, which checks it; a key changed by hand that is not a whole
      -- capacity and a refill that fills it within ten years is no override (nor is one that is not a hash).
      local numbers = redis.pcall('HMGET', KEYS[k], 'capacity', 'refill')
      if not numbers.err then
        local c = tonumber(numbers[1])
        local r = tonumber(numbers[2])
        if c and r and c >= 1 and c == math.floor(c) and c <= 1e9 and r > 0 and r <= 1e9 and c / r <= MAX_REFILL_SECONDS then
          override = { c, r, numbers[1], numbers[2] }
        end
      end
    end
    a = a + n - 1
    for candidate = 1, n do
      local nkeys = string.byte(layout, p + 2 + candidate) - 48
      if candidate == chosen then
        decide_segment(k, a, nkeys, stored, override, lease_of(candidate))
      end
      k = k + nkeys
      a = a + arg_count(nkeys)
    end
    p = p + 3 + n
    lease = nil
  else
    local nkeys = string.byte(layout, p) - 48
    decide_segment(k, a, nkeys, nil, nil, lease_of(1))
    k = k + nkeys
    a = a + arg_count(nkeys)
    p = p + 1
    lease = nil
  end
end
return replies
