-- Page state shared by every process (see state_redis.py), prepended to the pages_* scripts.
-- ARGV of every pages script: prefix, now (s), ttl (s), then its own from ARGV[4].
-- Keys (P = prefix): P..'pg:'..token the page's JSON; P..'pt:'..tier zset of tokens in order
-- of last use (0: never used, 1: used, 2: socket open); P..'ptier', P..'psess', P..'psock',
-- P..'pd', P..'ptime' hashes token -> tier, session, open sockets, last delivered seq, time of
-- last use; P..'ps:'..session zset of the session's tokens in order of last use; P..'pc' zset
-- of every token in order of creation. Orders are ticks of one counter (P..'ptick'), so pages
-- used in the same clock tick keep their order.
-- Gallery item lists are kept once per value, not per page (page/redis_items.py): P..'items:'..key
-- the list's JSON, key its SHA-256; P..'pitems' hash token -> the keys its page names (space
-- separated); P..'iref' hash key -> how many pages name it. The last page gone deletes the list.
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local TTL = tonumber(ARGV[3])
--: A page whose socket's process died keeps "connected" for at most this long.
local CONNECTED_TTL = 86400
local DROPPED = {}

local function words(text)
  local out = {}
  for word in string.gmatch(text or '', '%S+') do out[#out + 1] = word end
  return out
end

local function unref(keys)
  for _, key in ipairs(keys) do
    if redis.call('HINCRBY', P .. 'iref', key, -1) <= 0 then
      redis.call('HDEL', P .. 'iref', key)
      redis.call('DEL', P .. 'items:' .. key)
    end
  end
end

-- The item lists a page names now (space separated keys): counted for the new ones, the old
-- ones it no longer names released.
local function name_items(token, keys)
  local old, new = words(redis.call('HGET', P .. 'pitems', token)), words(keys)
  local had, has, gone = {}, {}, {}
  for _, key in ipairs(old) do had[key] = true end
  for _, key in ipairs(new) do
    has[key] = true
    if not had[key] then redis.call('HINCRBY', P .. 'iref', key, 1) end
  end
  for _, key in ipairs(old) do
    if not has[key] then gone[#gone + 1] = key end
  end
  unref(gone)
  if keys == '' then redis.call('HDEL', P .. 'pitems', token)
  else redis.call('HSET', P .. 'pitems', token, keys) end
end

-- Of the item keys a page will name, those Redis does not have, written from the lists the
-- call gave (ARGV from `first`: key, JSON pairs). Returns the keys still missing, having
-- written nothing if there are any: the caller sends them, then the page.
local function store_items(keys, first)
  local given, missing, absent = {}, {}, {}
  for i = first, #ARGV, 2 do given[ARGV[i]] = ARGV[i + 1] end
  for _, key in ipairs(words(keys)) do
    if redis.call('EXISTS', P .. 'items:' .. key) == 0 then
      if given[key] then absent[#absent + 1] = key else missing[#missing + 1] = key end
    end
  end
  if #missing == 0 then
    for _, key in ipairs(absent) do redis.call('SET', P .. 'items:' .. key, given[key]) end
  end
  return missing
end

local function drop(token)
  local tier = redis.call('HGET', P .. 'ptier', token)
  if not tier then return end
  local session = redis.call('HGET', P .. 'psess', token)
  redis.call('ZREM', P .. 'pt:' .. tier, token)
  redis.call('ZREM', P .. 'ps:' .. session, token)
  redis.call('HDEL', P .. 'ptier', token)
  redis.call('HDEL', P .. 'psess', token)
  redis.call('HDEL', P .. 'psock', token)
  redis.call('HDEL', P .. 'pd', token)
  redis.call('HDEL', P .. 'ptime', token)
  redis.call('ZREM', P .. 'pc', token)
  redis.call('DEL', P .. 'pg:' .. token)
  unref(words(redis.call('HGET', P .. 'pitems', token)))
  redis.call('HDEL', P .. 'pitems', token)
  DROPPED[#DROPPED + 1] = token
end

local function expire()
  -- At most once a second (or a tenth of the TTL), whatever the number of requests: each
  -- looks at every queue's oldest page.
  local last = tonumber(redis.call('GET', P .. 'pexpired') or '-1e18')
  if NOW - last < math.min(1, TTL / 10) then return end
  redis.call('SET', P .. 'pexpired', NOW)
  -- The oldest of each queue first, so this stops at the first page still in time.
  for tier, ttl in pairs({ ['0'] = TTL, ['1'] = TTL, ['2'] = CONNECTED_TTL }) do
    for _ = 1, 100 do
      local oldest = redis.call('ZRANGE', P .. 'pt:' .. tier, 0, 0)[1]
      if oldest == nil or tonumber(redis.call('HGET', P .. 'ptime', oldest)) > NOW - ttl then
        break
      end
      drop(oldest)
    end
  end
end

local function tick() return redis.call('INCR', P .. 'ptick') end

local function touch(token, tier)
  local sockets = tonumber(redis.call('HGET', P .. 'psock', token) or '0')
  if sockets > 0 then tier = '2' end
  local old = redis.call('HGET', P .. 'ptier', token)
  if old ~= tier then
    redis.call('ZREM', P .. 'pt:' .. old, token)
    redis.call('HSET', P .. 'ptier', token, tier)
  end
  local order = tick()
  redis.call('ZADD', P .. 'pt:' .. tier, order, token)
  redis.call('ZADD', P .. 'ps:' .. redis.call('HGET', P .. 'psess', token), order, token)
  redis.call('HSET', P .. 'ptime', token, NOW)
end

local function with_dropped(reply)
  for _, token in ipairs(DROPPED) do reply[#reply + 1] = token end
  return reply
end
