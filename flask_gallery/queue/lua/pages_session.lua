-- The session of a kept page (false when it is not kept), the page counting as used now: the
-- check of every page request, without loading the page. ARGV[4..]: token.
-- Returns {session or false, dropped tokens...}.
local token = ARGV[4]
expire()
local session = redis.call('HGET', P .. 'psess', token)
if session then touch(token, '1') end
return with_dropped({ session })
