-- Forget what a page's channel buffers; the sequence goes on (see PageChannels.release).
-- ARGV: base key, ttl of the cursor keys (ms)
local base = ARGV[1]
local seq = redis.call('GET', base .. ':seq')
if seq then
  redis.call('DEL', base .. ':log', base .. ':status')
  redis.call('SET', base .. ':lost', seq, 'PX', ARGV[2])
end
return 0
