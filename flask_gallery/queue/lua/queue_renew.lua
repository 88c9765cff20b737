-- Renew the leases of this worker's runs. ARGV[7..]: lease (ms), then head id, fence pairs.
-- Returns the heads whose lease was lost (given up as dead: their results will be refused).
local lease, lost = tonumber(ARGV[7]), {}
for i = 8, #ARGV, 2 do
  local head, fence = ARGV[i], ARGV[i + 1]
  if jget(head, 'fence') == fence then
    redis.call('ZADD', P .. 'gr:' .. jget(head, 'g'), 'XX', NOW * 1000 + lease, head)
  else
    lost[#lost + 1] = head
  end
end
return lost
