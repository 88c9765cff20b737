-- What a page missed after a cursor (see redis_channels.py); with a channel id, that process
-- listens to the page from now on (channel_append publishes for it): one step, so a message
-- is either in this reply or published after it.
-- ARGV: base key, after, now (s), replay ttl (s), ttl of the cursor keys (ms), channel id or ''
-- Returns {seq, lost, members...}: members of the log and of the statuses with seq > after.
local base, after, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[6] ~= '' then
  redis.call('SADD', base .. ':subs', ARGV[6])
  redis.call('PEXPIRE', base .. ':subs', ARGV[5])
end
local seq = tonumber(redis.call('GET', base .. ':seq') or '0')
local lost = tonumber(redis.call('GET', base .. ':lost') or '0')
local expired = channel_expire(base, now, ttl)
if expired ~= nil then
  lost = math.max(lost, tonumber(expired))
  redis.call('SET', base .. ':lost', lost, 'PX', ARGV[5])
end
if after > seq then after = 0 end -- the channel restarted since the cursor was taken
local out = {seq, lost}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', base .. ':log', '(' .. after, '+inf')) do
  out[#out + 1] = member
end
for _, member in ipairs(redis.call('HVALS', base .. ':status')) do
  if tonumber(string.match(member, '^(%d+) ')) > after then
    out[#out + 1] = member
  end
end
return out
