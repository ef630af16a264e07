-- Closes the circuit. ARGV[4]: `probes` (only the open or half-open record of version
-- ARGV[5..6] closes) or `reset`; ARGV[7]: how long the closed record is kept, in ms; ARGV[8]:
-- the change's number among its writer's (a change already made is not made again).
local cur = current()
local kind = ARGV[4]
local mark = 'change:' .. ARGV[3]
if cur and redis.call('HGET', KEYS[1], mark) == ARGV[8] then return reply(0, cur) end
local apply = kind == 'reset' or cur == nil
  or (kind == 'probes' and cur[3] ~= 'closed' and cur[1] == ARGV[5] and cur[2] == ARGV[6])
if not apply then return reply(0, cur) end
local epoch = cur and cur[1] or new_epoch()
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'epoch', epoch, 'phase', 'closed', 'by', ARGV[3], mark, ARGV[8])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return announce({epoch, tostring(gen), 'closed', '0', ARGV[3]})
