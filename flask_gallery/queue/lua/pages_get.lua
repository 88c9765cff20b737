-- A page's JSON and last delivered seq; with touch, the page counts as used now. With a lock
-- value, first take the page's edit lock (for lock ms), or answer 'locked' at once.
-- ARGV[4..]: token, touch ('1' / '0'), lock value ('' for none), lock ms.
-- Returns {json or false, delivered, dropped tokens...}, or {'locked'}.
local token, use, lock = ARGV[4], ARGV[5] == '1', ARGV[6]
-- A lock already ours: this call asked again after its reply was lost (redis-py retries).
if lock ~= '' and not redis.call('SET', P .. 'plock:' .. token, lock, 'NX', 'PX', ARGV[7])
    and redis.call('GET', P .. 'plock:' .. token) ~= lock then
  return { 'locked' }
end
expire()
local json = redis.call('GET', P .. 'pg:' .. token)
if json and use then touch(token, '1') end
return with_dropped({ json, redis.call('HGET', P .. 'pd', token) or '0' })
