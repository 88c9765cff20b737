-- A message from a running handler (an output, progress, a notification), unless its job ended.
-- ARGV[7..]: job id, message type, message JSON
-- Returns {posted (1 / 0), the message as page, member pair when posted}.
return with_posted({ post_json(ARGV[7], ARGV[8], ARGV[9]) })
