-- Append one message to a page's channel and publish it, atomically (see redis_channels.py).
-- ARGV: base key, message JSON (without "seq"), kind ("status" | "terminal" | "other"), job id,
--       now (s), replay size, replay ttl (s), ttl of the cursor keys (ms)
-- Returns the message's seq. Members are "<seq> <time> <json>", so no JSON is decoded here.
local base, json, kind, job = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, size, ttl, keep = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local seq = redis.call('INCR', base .. ':seq')
local member = seq .. ' ' .. ARGV[5] .. ' ' .. json
if job ~= '' and kind == 'status' then
  redis.call('HSET', base .. ':status', job, member)
else
  if job ~= '' and kind == 'terminal' then
    redis.call('HDEL', base .. ':status', job)
  end
  redis.call('ZADD', base .. ':log', seq, member)
  local lost = nil
  -- The bound: the oldest go first.
  local over = redis.call('ZCARD', base .. ':log') - size
  if over > 0 then
    local dropped = redis.call('ZRANGE', base .. ':log', over - 1, over - 1, 'WITHSCORES')
    lost = dropped[2]
    redis.call('ZREMRANGEBYRANK', base .. ':log', 0, over - 1)
  end
  -- The TTL: members older than it go (the oldest first, so the loop stops at the first kept).
  while true do
    local first = redis.call('ZRANGE', base .. ':log', 0, 0, 'WITHSCORES')
    if #first == 0 then break end
    local t = tonumber(string.match(first[1], '^%d+ (%S+) '))
    if now - t <= ttl then break end
    lost = first[2]
    redis.call('ZREMRANGEBYRANK', base .. ':log', 0, 0)
  end
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
redis.call('PUBLISH', base, seq .. ' ' .. json)
return seq
