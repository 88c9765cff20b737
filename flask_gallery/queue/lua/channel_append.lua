-- Append one message to a page's channel and publish it, atomically.
-- ARGV: prefix, page, message JSON (without "seq"), kind ("status" | "terminal" | ""), job id,
--       now (s), replay size, replay ttl (s), ttl of the cursor keys (ms), the caller's
--       channel id. Returns its seq.
return channel_append(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6],
  tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], ARGV[10])
