-- The rounds of positions held back by their interval (see reestimate), sent now with the
-- queue as it is: called by every process's upkeep thread every 0.1 s.
-- Returns {0, messages posted as page, member pairs...}.
for _, group in ipairs(redis.call('SMEMBERS', P .. 'estdirty')) do
  redis.call('HSET', P .. 'esttime', group, NOW_S)
  redis.call('SREM', P .. 'estdirty', group)
  estimate(group, nil)
end
return with_posted({ 0 })
