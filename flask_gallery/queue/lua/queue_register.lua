-- Know a listener and its concurrency group; a shared group takes the lowest limit.
-- ARGV[7..]: listener id, group, limit ('' for none), queued ('1'/'0'), batch ('1'/'0'),
--            max batch size, name, worker id (this process claims only what it knows),
--            seconds between two rounds of positions for the group, seconds the worker's set
--            of known listeners lasts (renewed while the worker lives)
local listener, group, limit = ARGV[7], ARGV[8], ARGV[9]
redis.call('HSET', P .. 'l:' .. listener, 'g', group, 'q', ARGV[10], 'b', ARGV[11],
  'mb', ARGV[12], 'n', ARGV[13])
local key = P .. 'g:' .. group
local current = redis.call('HGET', key, 'lim')
if current == false then
  redis.call('HSET', key, 'lim', limit)
elseif limit ~= '' and (current == '' or tonumber(limit) < tonumber(current)) then
  redis.call('HSET', key, 'lim', limit)
end
redis.call('SADD', P .. 'groups', group)
redis.call('HSET', key, 'ivl', ARGV[15])
redis.call('SADD', P .. 'known:' .. ARGV[14], listener)
redis.call('EXPIRE', P .. 'known:' .. ARGV[14], ARGV[16])
redis.call('SADD', P .. 'groups', IMMEDIATE)
return 1
