-- Trigger mode, fair shares and the queue, for one submission (as ThreadsBackend.submit); then,
-- when the submitting process has a free worker, a claim for it (see claim_run), which saves
-- the round trip of waking a dispatcher and its claim.
-- ARGV[7..]: job id, listener id, page, session ('' none), client, mode, payload,
--            max queue size, max per page, max per session ('' for no bound), '1' to only
--            answer a submission made before (never to make one), lease (ms), worker id,
--            claim token ('' not to claim), groups not to take from...
-- Returns {outcome, reason, n, a claimed run of n entries (head, fence, job ids...), messages
-- posted as page, member pairs...}: outcome 'queued' | 'deferred' | 'superseded' | 'rejected'
-- ('unknown': asked only to answer, and no such submission was made).
-- A submission asked again after its reply was lost (redis-py retries a command whose
-- connection dropped) is answered as the first time, not submitted twice.
local id, listener, page, session, client, mode = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local max_total, max_page, max_session = tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])

local function answer(outcome, reason)
  redis.call('HSET', jk(id), 'sub', outcome, 'subr', reason)
  local reply = { outcome, reason, 0 }
  if ARGV[20] ~= '' then
    local skip = {}
    for i = 21, #ARGV do skip[ARGV[i]] = true end
    local run = claim_run(tonumber(ARGV[18]), ARGV[19], ARGV[20], skip)
    if #run > 0 then
      redis.call('LPOP', P .. 'wake') -- taken here: no dispatcher need wake for it
      reply[3] = #run
      for _, x in ipairs(run) do reply[#reply + 1] = x end
    end
  end
  return with_posted(reply)
end

local before = redis.call('HMGET', jk(id), 'sub', 'subr')
if before[1] then return answer(before[1], before[2]) end
if ARGV[17] == '1' then return { 'unknown', '', 0 } end
local info = redis.call('HMGET', P .. 'l:' .. listener, 'g', 'q', 'n')
if info[1] == false then return redis.error_reply('unregistered listener ' .. listener) end
local group = info[1]
if info[2] ~= '1' then group = IMMEDIATE end
local name = info[3]
redis.call('HSET', jk(id), 'l', listener, 'p', page, 's', session, 'c', client, 'g', group,
  'm', mode, 'st', 'new', 'data', ARGV[13])

local function reject(code, reason)
  finish(id, 'rejected', { code = code, reason = reason })
  return answer('rejected', reason)
end

local active = key_active(page, listener)
local deferred = redis.call('HGET', P .. 'kd:' .. page, listener)
local busy = redis.call('LLEN', active) > 0 or deferred ~= false
if busy and mode == 'once' then
  return reject('once', "'" .. name .. "' is still queued or running for this page and its"
    .. " trigger_mode is 'once', so this submission was dropped. Wait for it to finish,"
    .. " or register the listener with trigger_mode='multiple' or 'always_last'.")
end
if busy and mode == 'always_last' then
  local pending = deferred
  if not pending then
    for _, other in ipairs(redis.call('LRANGE', active, 0, -1)) do
      if jget(other, 'st') == 'queued' then pending = other break end
    end
  end
  if pending then
    -- The new submission takes the pending one's place (its queue position too).
    if pending == deferred then
      redis.call('HSET', P .. 'kd:' .. page, listener, id)
      redis.call('HSET', jk(id), 'st', 'deferred')
    else
      local seq = jget(pending, 'seq')
      redis.call('ZREM', P .. 'gq:' .. group, pending)
      redis.call('ZADD', P .. 'gq:' .. group, seq, id)
      redis.call('HSET', jk(id), 'st', 'queued', 'seq', seq, 'enq', jget(pending, 'enq'))
      local at = redis.call('LPOS', active, pending)
      redis.call('LSET', active, at, id)
    end
    finish(pending, 'cancelled', { reason = 'superseded by a newer submission' })
    count_add(id)
    if jget(id, 'st') == 'queued' then estimate(group, id) end
    return answer('superseded', pending)
  end
end

-- Fair shares: the page's and session's caps, then the global bound.
local per_page = tonumber(redis.call('HGET', P .. 'np', page) or '0')
if max_page ~= nil and per_page >= max_page then
  return reject('queue_full', 'queue full: this page already has ' .. per_page
    .. ' submissions waiting (max_queued_per_page=' .. max_page .. '). Wait for them to finish.')
end
if session ~= '' and max_session ~= nil then
  local per_session = tonumber(redis.call('HGET', P .. 'ns', session) or '0')
  if per_session >= max_session then
    return reject('queue_full', 'queue full: your pages already have ' .. per_session
      .. ' submissions waiting (max_queued_per_session=' .. max_session
      .. '). Wait for them to finish.')
  end
end
if max_total ~= nil and waiting() >= max_total then
  -- A client holding fewer takes the place of the newest of the client holding the most.
  local mine = tonumber(redis.call('ZSCORE', P .. 'nc', client) or '0')
  local top, top_count = nil, 0
  local rows = redis.call('ZREVRANGE', P .. 'nc', 0, 1, 'WITHSCORES') -- one of them is not us
  for i = 1, #rows, 2 do
    if top == nil and rows[i] ~= client then top, top_count = rows[i], tonumber(rows[i + 1]) end
  end
  if top == nil or mine + 1 >= top_count then
    return reject('queue_full', 'queue full: ' .. waiting() .. ' submissions are waiting'
      .. ' (max_queue_size=' .. max_total .. '). Try again in a moment.')
  end
  local victim = redis.call('ZREVRANGE', P .. 'cj:' .. top, 0, 0)[1]
  local vpage, vlistener = jget(victim, 'p'), jget(victim, 'l')
  if redis.call('HGET', P .. 'kd:' .. vpage, vlistener) == victim then
    redis.call('HDEL', P .. 'kd:' .. vpage, vlistener)
  else
    redis.call('LREM', key_active(vpage, vlistener), 0, victim)
    local vgroup = jget(victim, 'g')
    redis.call('ZREM', P .. 'gq:' .. vgroup, victim)
    refresh_ready(vgroup)
    reestimate(vgroup)
  end
  finish(victim, 'rejected', { code = 'queue_full', reason = 'queue full: this submission was'
    .. " dropped to make room for other users'; the address it came from had the most waiting."
    .. ' Try again in a moment.' })
  forget_key_if_idle(vpage, vlistener)
  -- The victim may have been this key's only live job.
  deferred = redis.call('HGET', P .. 'kd:' .. page, listener)
  busy = redis.call('LLEN', active) > 0 or deferred ~= false
end
if busy and mode == 'always_last' then
  redis.call('HSET', P .. 'kd:' .. page, listener, id)
  redis.call('HSET', jk(id), 'st', 'deferred')
  redis.call('SADD', P .. 'pk:' .. page, listener)
  count_add(id)
  return answer('deferred', '')
end
enqueue(id)
return answer('queued', '')
