-- Page state shared by every process (see state_redis.py), prepended to the pages_* scripts.
-- ARGV of every pages script: prefix, now (s), ttl (s), then its own from ARGV[4].
-- Keys (P = prefix): P..'pg:'..token the page's JSON; P..'pt:'..tier zset of tokens in order
-- of last use (0: never used, 1: used, 2: socket open); P..'ptier', P..'psess', P..'psock',
-- P..'pd', P..'ptime' hashes token -> tier, session, open sockets, last delivered seq, time of
-- last use; P..'ps:'..session zset of the session's tokens in order of last use; P..'pc' zset
-- of every token in order of creation. Orders are ticks of one counter (P..'ptick'), so pages
-- used in the same clock tick keep their order.
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local TTL = tonumber(ARGV[3])
--: A page whose socket's process died keeps "connected" for at most this long.
local CONNECTED_TTL = 86400
local DROPPED = {}

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
