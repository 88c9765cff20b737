-- Runs whose lease lapsed (their process died): fail their jobs, free their slots.
-- ARGV[7..]: the failure's message fields as JSON (error, title, ...)
-- Returns {count reaped, messages posted as page, member pairs...}.
local fields = cjson.decode(ARGV[7])
local reaped = 0
for _, group in ipairs(redis.call('SMEMBERS', P .. 'groups')) do
  local key = P .. 'gr:' .. group
  for _, head in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', NOW * 1000)) do
    redis.call('ZREM', key, head)
    redis.call('HINCRBY', jk(head), 'fence', 1) -- a late result of the lapsed run is refused
    for id in string.gmatch(jget(head, 'run') or head, '%S+') do
      local copy = {}
      for k, v in pairs(fields) do copy[k] = v end
      finish(id, 'failed', copy)
      release_key(id)
      reaped = reaped + 1
    end
    if redis.call('ZCARD', P .. 'gq:' .. group) > 0 then wake() end
  end
end
return with_posted({ reaped })
