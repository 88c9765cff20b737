-- A page's JSON and last delivered seq; with touch, the page counts as used now.
-- ARGV[4..]: token, touch ('1' / '0'). Returns {json or false, delivered, dropped tokens...}.
local token, use = ARGV[4], ARGV[5] == '1'
expire()
local json = redis.call('GET', P .. 'pg:' .. token)
if json and use then touch(token, '1') end
return with_dropped({ json, redis.call('HGET', P .. 'pd', token) or '0' })
