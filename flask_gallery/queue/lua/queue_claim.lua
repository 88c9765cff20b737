-- Take the oldest runnable job of any group below its limit (a batch: more of its listener's).
-- ARGV[6..]: lease (ms), worker id, claim token, groups not to take from (their stuck runs
-- fill this process). A claim whose reply was lost (Redis restarting) is asked again with the
-- same token and gets the same run back, so no run is left claimed by nobody.
-- Returns {} or {head id, fence, job ids...}.
local lease, worker, token = tonumber(ARGV[6]), ARGV[7], ARGV[8]
local saved = redis.call('GET', P .. 'claimed:' .. token)
if saved then return cjson.decode(saved) end
local skip = {}
for i = 9, #ARGV do skip[ARGV[i]] = true end

local function room(group)
  local limit = group_limit(group)
  return limit == nil or redis.call('ZCARD', P .. 'gr:' .. group) < limit
end

-- Whether this process has the listener of the group's head (a process still starting, or
-- running another version of the app, leaves it to those that have).
local function known(group)
  local head = redis.call('ZRANGE', P .. 'gq:' .. group, 0, 0)[1]
  return head ~= nil and redis.call('SISMEMBER', P .. 'known:' .. worker, jget(head, 'l')) == 1
end

local function take(group)
  local queue = P .. 'gq:' .. group
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  redis.call('ZREM', queue, head)
  local batch = { head }
  local listener = jget(head, 'l')
  local info = redis.call('HMGET', P .. 'l:' .. listener, 'b', 'mb')
  if info[1] == '1' then
    local most = tonumber(info[2])
    for _, other in ipairs(redis.call('ZRANGE', queue, 0, -1)) do
      if #batch >= most then break end
      if jget(other, 'l') == listener then
        redis.call('ZREM', queue, other)
        batch[#batch + 1] = other
      end
    end
  end
  refresh_ready(group)
  local fence = redis.call('INCR', P .. 'fence')
  redis.call('ZADD', P .. 'gr:' .. group, NOW * 1000 + lease, head)
  redis.call('HSET', jk(head), 'fence', fence, 'run', table.concat(batch, ' '), 'w', worker)
  local avg = average(listener)
  if avg == nil then avg = cjson.null end
  for _, id in ipairs(batch) do
    redis.call('HSET', jk(id), 'st', 'running', 'start', NOW_S)
    count_remove(id)
    post(id, 'started', { eta = avg, batch = #batch })
  end
  reestimate(group)
  local out = { head, tostring(fence) }
  for _, id in ipairs(batch) do out[#out + 1] = id end
  redis.call('SET', P .. 'claimed:' .. token, cjson.encode(out), 'PX', 60000)
  return out
end

if known(IMMEDIATE) then
  return take(IMMEDIATE)
end
for _, group in ipairs(redis.call('ZRANGE', P .. 'ready', 0, -1)) do
  if group ~= IMMEDIATE and not skip[group] and room(group) and known(group) then
    return take(group)
  end
end
return {}
