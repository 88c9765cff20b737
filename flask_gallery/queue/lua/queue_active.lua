-- Whether a (page, listener) has a queued, running or deferred job. ARGV[7..]: page, listener
local page, listener = ARGV[7], ARGV[8]
if redis.call('LLEN', key_active(page, listener)) > 0 then return 1 end
return redis.call('HEXISTS', P .. 'kd:' .. page, listener)
