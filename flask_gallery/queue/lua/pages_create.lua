-- Keep a new page (or a page saved again), then what its session's cap and the store's cap
-- leave over, dropping pages nobody uses first (as MemoryPageStore).
-- With a lock value: the end of an edit, which writes the page back only if it is still kept
-- (a page dropped meanwhile stays dropped), then releases the page's edit lock if it holds it.
-- The page names its galleries' item lists by key: a list Redis does not have is written
-- first (from the pairs given), and a page never names a list that is not there: when one is
-- neither in Redis nor given, nothing is written (nor the lock released) and its key returned.
-- ARGV[4..]: token, session, page JSON, max pages, max pages per session, lock value ('' none),
-- item keys the page names (space separated), then key, list JSON pairs.
-- Returns {n, the n item keys missing, tokens dropped...}.
local token, session, json = ARGV[4], ARGV[5], ARGV[6]
local max_pages, per_session, lock = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
local keys = ARGV[10]

local function missing_first(missing)
  local reply = { #missing }
  for _, key in ipairs(missing) do reply[#reply + 1] = key end
  return with_dropped(reply)
end

local function write()
  local missing = store_items(keys, 11)
  if #missing > 0 then return missing end
  redis.call('SET', P .. 'pg:' .. token, json)
  name_items(token, keys)
  return missing
end

if lock ~= '' then
  if redis.call('HEXISTS', P .. 'ptier', token) == 1 then
    local missing = write()
    if #missing > 0 then return missing_first(missing) end
  end
  if redis.call('GET', P .. 'plock:' .. token) == lock then
    redis.call('DEL', P .. 'plock:' .. token)
  end
  return with_dropped({ 0 })
end
expire()
local missing = write()
if #missing > 0 or redis.call('HEXISTS', P .. 'ptier', token) == 1 then
  return missing_first(missing)
end
local order = tick()
redis.call('HSET', P .. 'ptier', token, '0')
redis.call('HSET', P .. 'psess', token, session)
redis.call('HSET', P .. 'ptime', token, NOW)
redis.call('ZADD', P .. 'pt:0', order, token)
redis.call('ZADD', P .. 'pc', order, token)
local own = P .. 'ps:' .. session
redis.call('ZADD', own, order, token)
if redis.call('ZCARD', own) > per_session then
  local victim, oldest = nil, nil
  for _, other in ipairs(redis.call('ZRANGE', own, 0, -1)) do
    if other ~= token then
      oldest = oldest or other
      if tonumber(redis.call('HGET', P .. 'psock', other) or '0') == 0 then
        victim = other
        break
      end
    end
  end
  drop(victim or oldest)
end
while redis.call('HLEN', P .. 'ptier') > max_pages do
  local victim = nil
  for _, tier in ipairs({ '0', '1', '2' }) do
    for _, other in ipairs(redis.call('ZRANGE', P .. 'pt:' .. tier, 0, 1)) do
      if other ~= token then victim = other break end
    end
    if victim then break end
  end
  drop(victim)
end
return with_dropped({ 0 })
