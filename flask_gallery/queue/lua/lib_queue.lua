-- The queue's shared state and rules, prepended to every queue script (after lib_channel).
-- Every queue script's ARGV starts with: prefix, now (s, wall clock), replay size,
-- replay ttl (s), cursor ttl (ms), the calling process's channel id (see channel_append);
-- its own arguments follow from ARGV[7].
--
-- Keys (P = prefix):
--   P..'j:'..id            hash of a job: l (listener), p (page), s (session), c (client),
--                          g (group), seq, enq, st (state), term (terminal type), cx (cancelled),
--                          start, fence, run (ids of its batch, head only), data (payload)
--   P..'l:'..listener      hash: g (group), q ('1': queued, '0': runs at once), b (batch),
--                          mb (max batch size), n (name)
--   P..'g:'..group         hash: lim (limit, '' for none); P..'gq:'..group zset of queued ids
--                          by seq; P..'gr:'..group zset of running heads by lease deadline (ms)
--   P..'ready'             zset of groups with queued jobs, by the seq of their head
--   P..'groups'            set of every group (the reaper walks them)
--   P..'ka:'..page..':'..l list of a (page, listener)'s live jobs (queued or running)
--   P..'kd:'..page         hash listener -> its deferred always_last job
--   P..'pk:'..page         set of the page's listeners with live or deferred jobs
--   P..'n', P..'np', P..'ns', P..'nc', P..'cj:'..client   waiting counts (see quotas.py)
--   P..'rt:'..listener     list of recent run times (s), newest first
--   P..'wake'              list a worker blocks on; a token per job that may be runnable
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local NOW_S = ARGV[2]
local SIZE, TTL, KEEP = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local ME = ARGV[6]
local IMMEDIATE = '__immediate__'
local JOB_TTL = 3600 -- seconds a finished job's record stays (late messages are checked on it)
local RUN_TIMES = 20

-- STATUS and TERMINAL (sets of message types) come first in every script: messages.lua_tables.

local function jk(id) return P .. 'j:' .. id end
-- A job's fields that never change once submitted are read from Redis once per script call.
local FIXED = { l = true, p = true, s = true, c = true, g = true }
local READ = {}
local function jget(id, field)
  if not FIXED[field] then return redis.call('HGET', jk(id), field) end
  local job = READ[id]
  if job == nil then
    job = {}
    READ[id] = job
  end
  local value = job[field]
  if value == nil then
    value = redis.call('HGET', jk(id), field)
    job[field] = value
  end
  return value
end

-- The messages this call posted, as page and "<seq> <json>" pairs: a script returns them after
-- its own reply (see with_posted), so the calling process hands its own subscribers their
-- messages before the call returns, without reading them back.
local POSTED = {}

local function with_posted(reply)
  for _, posted in ipairs(POSTED) do reply[#reply + 1] = posted end
  return reply
end

local function post_json(id, kind, json)
  -- A message about job id, unless the job already had its terminal message.
  if redis.call('HEXISTS', jk(id), 'term') == 1 then return 0 end
  local role = ''
  if STATUS[kind] then role = 'status' elseif TERMINAL[kind] then role = 'terminal' end
  if role == 'terminal' then
    redis.call('HSET', jk(id), 'term', kind)
    redis.call('EXPIRE', jk(id), JOB_TTL)
  end
  local page = jget(id, 'p')
  local seq = channel_append(P, page, json, role, id, NOW_S, SIZE, TTL, KEEP, ME)
  POSTED[#POSTED + 1] = page
  POSTED[#POSTED + 1] = seq .. ' ' .. json
  return 1
end

local function post(id, kind, fields)
  local m = fields or {}
  m['type'] = kind
  m['job'] = id
  m['listener'] = jget(id, 'l')
  m['page'] = jget(id, 'p')
  return post_json(id, kind, cjson.encode(m))
end

-- Waiting counts: per page, session and client, and each client's waiting jobs in order.
local function count_add(id)
  if redis.call('HGET', jk(id), 'counted') == '1' then return end
  local page, session, client = jget(id, 'p'), jget(id, 's'), jget(id, 'c')
  redis.call('HSET', jk(id), 'counted', '1')
  redis.call('INCR', P .. 'n')
  redis.call('HINCRBY', P .. 'np', page, 1)
  if session ~= '' then redis.call('HINCRBY', P .. 'ns', session, 1) end
  redis.call('ZINCRBY', P .. 'nc', 1, client)
  redis.call('ZADD', P .. 'cj:' .. client, redis.call('INCR', P .. 'corder'), id)
end

local function decrement(hash, field)
  if redis.call('HINCRBY', hash, field, -1) <= 0 then redis.call('HDEL', hash, field) end
end

local function count_remove(id)
  if redis.call('HGET', jk(id), 'counted') ~= '1' then return end
  local page, session, client = jget(id, 'p'), jget(id, 's'), jget(id, 'c')
  redis.call('HSET', jk(id), 'counted', '0')
  redis.call('DECR', P .. 'n')
  decrement(P .. 'np', page)
  if session ~= '' then decrement(P .. 'ns', session) end
  if tonumber(redis.call('ZINCRBY', P .. 'nc', -1, client)) <= 0 then
    redis.call('ZREM', P .. 'nc', client)
  end
  redis.call('ZREM', P .. 'cj:' .. client, id)
end

local function waiting() return tonumber(redis.call('GET', P .. 'n') or '0') end

-- Run times, for ETAs (Gradio's formula, as estimate.py).
local function average(listener)
  local times = redis.call('LRANGE', P .. 'rt:' .. listener, 0, RUN_TIMES - 1)
  if #times == 0 then return nil end
  local sum = 0
  for _, x in ipairs(times) do sum = sum + tonumber(x) end
  return sum / #times
end

local function group_limit(group)
  local lim = redis.call('HGET', P .. 'g:' .. group, 'lim')
  if lim == false or lim == '' then return nil end
  return tonumber(lim)
end

local function refresh_ready(group)
  local head = redis.call('ZRANGE', P .. 'gq:' .. group, 0, 0, 'WITHSCORES')
  if #head == 0 then
    redis.call('ZREM', P .. 'ready', group)
  else
    redis.call('ZADD', P .. 'ready', head[2], group)
  end
end

-- Estimations for the queued jobs of a group: every one, or only the job `only`.
local function estimate(group, only)
  if group == IMMEDIATE then return end
  local limit = group_limit(group)
  local queued = redis.call('ZRANGE', P .. 'gq:' .. group, 0, -1)
  local until_free = 0
  local heads = redis.call('ZRANGE', P .. 'gr:' .. group, 0, -1)
  if limit ~= nil and #heads >= limit then
    local first_end = nil
    for _, head in ipairs(heads) do
      local avg = average(jget(head, 'l'))
      if avg == nil then until_free = nil break end
      local ends = tonumber(jget(head, 'start')) + avg
      if first_end == nil or ends < first_end then first_end = ends end
    end
    if until_free ~= nil and first_end ~= nil then until_free = math.max(first_end - NOW, 0) end
  end
  local waited = 0
  for rank, id in ipairs(queued) do
    local avg = average(jget(id, 'l'))
    if only == nil or only == id then
      local eta = cjson.null
      if avg ~= nil and until_free ~= nil then eta = avg + waited + until_free end
      post(id, 'estimation', { rank = rank - 1, queue_size = #queued, eta = eta })
    end
    if avg ~= nil and limit ~= nil then waited = waited + avg / limit end
  end
end

-- A round of positions for a whole group (every queued job's rank changed): at most one per
-- the group's interval (progress_interval), as ThreadsBackend does: each round costs a message
-- per queued job, so a long queue draining fast would otherwise cost quadratic time. A round
-- not sent now is marked, and the next call of queue_estimate (every process's upkeep
-- thread, every 0.1 s) sends it with the queue as it is then.
local function reestimate(group)
  if group == IMMEDIATE or redis.call('ZCARD', P .. 'gq:' .. group) == 0 then return end
  local interval = tonumber(redis.call('HGET', P .. 'g:' .. group, 'ivl') or '0')
  local last = tonumber(redis.call('HGET', P .. 'esttime', group) or '-1e18')
  if NOW - last >= interval then
    redis.call('HSET', P .. 'esttime', group, NOW_S)
    redis.call('SREM', P .. 'estdirty', group)
    estimate(group, nil)
  else
    redis.call('SADD', P .. 'estdirty', group)
  end
end

local function wake() redis.call('LPUSH', P .. 'wake', '1') redis.call('LTRIM', P .. 'wake', 0, 999) end

local function key_active(page, listener) return P .. 'ka:' .. page .. ':' .. listener end

local function enqueue(id)
  local listener = jget(id, 'l')
  local group = jget(id, 'g')
  local seq = redis.call('INCR', P .. 'seq')
  redis.call('HSET', jk(id), 'seq', seq, 'enq', NOW_S, 'st', 'queued')
  redis.call('RPUSH', key_active(jget(id, 'p'), listener), id)
  redis.call('SADD', P .. 'pk:' .. jget(id, 'p'), listener)
  count_add(id)
  redis.call('ZADD', P .. 'gq:' .. group, seq, id)
  refresh_ready(group)
  estimate(group, id)
  wake()
end

-- A job ends: its message, its counts, its record's lifetime.
local function finish(id, kind, fields)
  count_remove(id)
  redis.call('HSET', jk(id), 'st', 'finished')
  post(id, kind, fields)
  redis.call('EXPIRE', jk(id), JOB_TTL)
end

local function forget_key_if_idle(page, listener)
  if redis.call('LLEN', key_active(page, listener)) == 0
      and redis.call('HEXISTS', P .. 'kd:' .. page, listener) == 0 then
    redis.call('SREM', P .. 'pk:' .. page, listener)
  end
end

-- A live job is over (it ran, failed or lapsed): the next always_last submission may go.
local function release_key(id)
  local page, listener = jget(id, 'p'), jget(id, 'l')
  if redis.call('LREM', key_active(page, listener), 0, id) == 0 then return end
  if redis.call('LLEN', key_active(page, listener)) == 0 then
    local deferred = redis.call('HGET', P .. 'kd:' .. page, listener)
    if deferred then
      redis.call('HDEL', P .. 'kd:' .. page, listener)
      enqueue(deferred)
    end
  end
  forget_key_if_idle(page, listener)
end

-- Claiming work (queue_claim, and queue_submit when the submitting process has a free worker).

local function room(group)
  local limit = group_limit(group)
  return limit == nil or redis.call('ZCARD', P .. 'gr:' .. group) < limit
end

-- Whether this process has the listener of the group's head (a process still starting, or
-- running another version of the app, leaves it to those that have).
local function known(group, worker)
  local head = redis.call('ZRANGE', P .. 'gq:' .. group, 0, 0)[1]
  return head ~= nil and redis.call('SISMEMBER', P .. 'known:' .. worker, jget(head, 'l')) == 1
end

local function take(group, lease, worker, token)
  local queue = P .. 'gq:' .. group
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  redis.call('ZREM', queue, head)
  local batch = { head }
  local listener = jget(head, 'l')
  local info = redis.call('HMGET', P .. 'l:' .. listener, 'b', 'mb')
  if info[1] == '1' then
    local most = tonumber(info[2])
    for _, other in ipairs(redis.call('ZRANGE', queue, 0, -1)) do
      if #batch >= most then break end
      if jget(other, 'l') == listener then
        redis.call('ZREM', queue, other)
        batch[#batch + 1] = other
      end
    end
  end
  refresh_ready(group)
  local fence = redis.call('INCR', P .. 'fence')
  redis.call('ZADD', P .. 'gr:' .. group, NOW * 1000 + lease, head)
  redis.call('HSET', jk(head), 'fence', fence, 'run', table.concat(batch, ' '), 'w', worker)
  local avg = average(listener)
  if avg == nil then avg = cjson.null end
  for _, id in ipairs(batch) do
    redis.call('HSET', jk(id), 'st', 'running', 'start', NOW_S)
    count_remove(id)
    post(id, 'started', { eta = avg, batch = #batch })
  end
  reestimate(group)
  local out = { head, tostring(fence) }
  for _, id in ipairs(batch) do out[#out + 1] = id end
  redis.call('SET', P .. 'claimed:' .. token, cjson.encode(out), 'PX', 60000)
  return out
end

-- Take the oldest runnable job of any group below its limit (a batch: more of its listener's)
-- for the process `worker`, not from the groups in `skip` (their stuck runs fill that
-- process). A claim whose reply was lost (Redis restarting) is asked again with the same
-- `token` and gets the same run back, so no run is left claimed by nobody.
-- Returns {} or {head id, fence, job ids...}.
local function claim_run(lease, worker, token, skip)
  local saved = redis.call('GET', P .. 'claimed:' .. token)
  if saved then return cjson.decode(saved) end
  if known(IMMEDIATE, worker) then
    return take(IMMEDIATE, lease, worker, token)
  end
  for _, group in ipairs(redis.call('ZRANGE', P .. 'ready', 0, -1)) do
    if group ~= IMMEDIATE and not skip[group] and room(group) and known(group, worker) then
      return take(group, lease, worker, token)
    end
  end
  return {}
end
