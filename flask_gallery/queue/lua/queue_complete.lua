-- A run's function returned: its jobs' terminal messages, its slot, the next always_last.
-- ARGV[7..]: head id, fence, run time in s ('' when not every job was done), then per job:
--            id, message type, message JSON
-- Returns {0} when the fence does not match (the run was presumed dead and given up), else
-- {1, messages posted as page, member pairs...}.
local head, fence, seconds = ARGV[7], ARGV[8], ARGV[9]
if jget(head, 'ended') == fence then return { 1 } end -- asked again after a lost reply
if jget(head, 'fence') ~= fence then return { 0 } end
local group = jget(head, 'g')
redis.call('ZREM', P .. 'gr:' .. group, head)
redis.call('HSET', jk(head), 'ended', fence)
redis.call('HINCRBY', jk(head), 'fence', 1)
if seconds ~= '' then
  local key = P .. 'rt:' .. jget(head, 'l')
  redis.call('LPUSH', key, seconds)
  redis.call('LTRIM', key, 0, RUN_TIMES - 1)
end
for i = 10, #ARGV, 3 do
  local id = ARGV[i]
  count_remove(id)
  redis.call('HSET', jk(id), 'st', 'finished')
  post_json(id, ARGV[i + 1], ARGV[i + 2])
  redis.call('EXPIRE', jk(id), JOB_TTL)
  release_key(id)
end
if redis.call('ZCARD', P .. 'gq:' .. group) > 0 then wake() end
return with_posted({ 1 })
