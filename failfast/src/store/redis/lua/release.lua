-- Gives probe token ARGV[4] back, and tells the fleet a token is free.
if redis.call('ZREM', KEYS[3], ARGV[4]) == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' probe')
  return 1
end
return 0
