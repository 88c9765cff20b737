-- A process with a free worker takes a run (see claim_run in lib_queue.lua).
-- ARGV[7..]: lease (ms), worker id, claim token, groups not to take from.
-- Returns {} or {n, the run's n entries (head id, fence, job ids...), messages posted as page,
-- member pairs...}.
local skip = {}
for i = 10, #ARGV do skip[ARGV[i]] = true end
local run = claim_run(tonumber(ARGV[7]), ARGV[8], ARGV[9], skip)
if #run == 0 then return run end
local out = { #run }
for _, x in ipairs(run) do out[#out + 1] = x end
return with_posted(out)
