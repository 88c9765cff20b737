-- Drop a page (seq ''), record the last seq delivered to it, or (token '') list every page
-- kept, oldest first. ARGV[4..]: token, seq. Returns the tokens dropped (listing: {n, the n
-- tokens kept, the tokens dropped}).
local token, seq = ARGV[4], ARGV[5]
if token == '' then
  expire()
  local kept = redis.call('ZRANGE', P .. 'pc', 0, -1)
  local out = { #kept }
  for _, one in ipairs(kept) do out[#out + 1] = one end
  return with_dropped(out)
elseif seq == '' then
  drop(token)
elseif redis.call('HEXISTS', P .. 'ptier', token) == 1
    and tonumber(redis.call('HGET', P .. 'pd', token) or '0') < tonumber(seq) then
  redis.call('HSET', P .. 'pd', token, seq)
end
return with_dropped({})
