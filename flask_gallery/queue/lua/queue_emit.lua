-- A message from a running handler (an output, progress, a notification), unless its job ended.
-- ARGV[6..]: job id, message type, message JSON
return post_json(ARGV[6], ARGV[7], ARGV[8])
