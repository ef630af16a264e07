-- Claims probe token ARGV[4] for ARGV[5] ms, if the record is half-open at version ARGV[7..8]
-- (or missing) and fewer than ARGV[6] tokens are held. Answers 1 (claimed), 2 and the ms
-- until the first held token expires (all taken: the holders hear that a token is wanted),
-- or 0 and the record (not half-open there).
-- ARGV[9]: how long the record outlives the token, in ms.
local cur = current()
if cur and (cur[3] ~= 'half' or cur[1] ~= ARGV[7] or cur[2] ~= ARGV[8]) then
  return reply(0, cur)
end
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZSCORE', KEYS[3], ARGV[4]) then
  -- A token this holder has: renewed for another ARGV[5] ms.
  redis.call('ZADD', KEYS[3], string.format('%d', now + tonumber(ARGV[5])), ARGV[4])
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[3], string.format('%d', math.max(tonumber(last[2]) - now, 1)))
  return {1}
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then
  -- Tell the holders: one keeping a token no call of its own uses gives it back.
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' wanted')
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return {2, string.format('%d', math.max(tonumber(first[2]) - now, 1))}
end
redis.call('ZADD', KEYS[3], string.format('%d', now + tonumber(ARGV[5])), ARGV[4])
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[3], string.format('%d', math.max(tonumber(last[2]) - now, 1)))
local keep = tonumber(ARGV[5]) + tonumber(ARGV[9])
if cur and redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], string.format('%d', keep))
end
return {1}
