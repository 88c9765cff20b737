-- A page's socket opened (delta 1) or closed (delta -1): an open socket keeps the page.
-- ARGV[4..]: token, delta. Returns {1 if the page is kept else 0, dropped tokens...}.
local token, delta = ARGV[4], tonumber(ARGV[5])
if delta > 0 then expire() end
if redis.call('HEXISTS', P .. 'ptier', token) == 0 then return with_dropped({ 0 }) end
local sockets = tonumber(redis.call('HGET', P .. 'psock', token) or '0')
sockets = math.max(0, sockets + delta)
redis.call('HSET', P .. 'psock', token, sockets)
if delta > 0 then touch(token, '2') elseif sockets == 0 then touch(token, '1') end
return with_dropped({ 1 })
