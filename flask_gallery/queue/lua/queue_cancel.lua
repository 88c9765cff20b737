-- Cancel a page's queued, deferred and running jobs of some listeners (all: none named).
-- ARGV[7..]: page, reason, listener ids...
-- Returns {count, n, n running job ids (they stop at their next yield), messages posted as page, member pairs...}.
local page, reason = ARGV[7], ARGV[8]
local listeners = {}
for i = 9, #ARGV do listeners[#listeners + 1] = ARGV[i] end
if #listeners == 0 then listeners = redis.call('SMEMBERS', P .. 'pk:' .. page) end
local count, running, touched = 0, {}, {}
for _, listener in ipairs(listeners) do
  local deferred = redis.call('HGET', P .. 'kd:' .. page, listener)
  if deferred then
    redis.call('HDEL', P .. 'kd:' .. page, listener)
    finish(deferred, 'cancelled', { reason = reason })
    count = count + 1
  end
  local active = key_active(page, listener)
  for _, id in ipairs(redis.call('LRANGE', active, 0, -1)) do
    if jget(id, 'st') == 'queued' then
      local group = jget(id, 'g')
      redis.call('ZREM', P .. 'gq:' .. group, id)
      refresh_ready(group)
      touched[group] = true
    else
      redis.call('HSET', jk(id), 'cx', '1')
      running[#running + 1] = id
    end
    finish(id, 'cancelled', { reason = reason })
    count = count + 1
  end
  redis.call('DEL', active)
  redis.call('SREM', P .. 'pk:' .. page, listener)
end
for group, _ in pairs(touched) do reestimate(group) end
local out = { count, #running }
for _, id in ipairs(running) do out[#out + 1] = id end
return with_posted(out)
