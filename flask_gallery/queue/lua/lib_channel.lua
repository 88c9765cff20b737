-- Appending to a page's channel (see redis_channels.py); prepended to the scripts that post
-- and to the replay. Members are "<seq> <time> <json>", so no JSON is decoded here.

-- Drop the log's members older than the TTL, the oldest first (so the loop stops at the first
-- one kept); the seq of the last one dropped, or nil.
local function channel_expire(base, now, ttl)
  local lost = nil
  while true do
    local first = redis.call('ZRANGE', base .. ':log', 0, 0, 'WITHSCORES')
    if #first == 0 then break end
    local t = tonumber(string.match(first[1], '^%d+ (%S+) '))
    if tonumber(now) - t <= ttl then break end
    lost = first[2]
    redis.call('ZREMRANGEBYRANK', base .. ':log', 0, 0)
  end
  return lost
end

-- Published only when a process other than `me` (the caller's channel id) listens to the page:
-- each listening process is in base..':subs' (channel_replay adds it as it subscribes), so a
-- process holding the page's socket is not sent its own messages back, which it has already.
local function channel_append(prefix, page, json, kind, job, now, size, ttl, keep, me)
  local base = prefix .. 'ch:' .. page
  local seq = redis.call('INCR', base .. ':seq')
  local member = seq .. ' ' .. now .. ' ' .. json
  if job ~= '' and kind == 'status' then
    redis.call('HSET', base .. ':status', job, member)
  else
    if job ~= '' and kind == 'terminal' then
      redis.call('HDEL', base .. ':status', job)
    end
    redis.call('ZADD', base .. ':log', seq, member)
    local lost = nil
    local over = redis.call('ZCARD', base .. ':log') - size
    if over > 0 then -- the bound: the oldest go first
      local dropped = redis.call('ZRANGE', base .. ':log', over - 1, over - 1, 'WITHSCORES')
      lost = dropped[2]
      redis.call('ZREMRANGEBYRANK', base .. ':log', 0, over - 1)
    end
    lost = channel_expire(base, now, ttl) or lost
    if lost ~= nil then
      redis.call('SET', base .. ':lost', lost, 'PX', keep)
    end
  end
  redis.call('PEXPIRE', base .. ':seq', keep)
  redis.call('PEXPIRE', base .. ':log', math.floor(ttl * 1000) + 1000)
  redis.call('PEXPIRE', base .. ':status', keep)
  if redis.call('EXISTS', base .. ':lost') == 1 then
    redis.call('PEXPIRE', base .. ':lost', keep)
  end
  local listening = redis.call('SCARD', base .. ':subs')
  if listening > 1 or (listening == 1 and redis.call('SISMEMBER', base .. ':subs', me) == 0) then
    redis.call('PUBLISH', base, seq .. ' ' .. json)
  end
  return seq
end
