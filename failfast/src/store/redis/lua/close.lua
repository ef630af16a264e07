-- Closes the circuit. ARGV[4]: `probes` (only the open or half-open record of version
-- ARGV[5..6] closes), `reset`, or `reset-if` (a reset pushed again: only the record of version
-- ARGV[5..6] closes); ARGV[7]: how long the closed record is kept, in ms.
local cur = current()
local kind = ARGV[4]
local same = cur ~= nil and cur[1] == ARGV[5] and cur[2] == ARGV[6]
local apply = kind == 'reset' or cur == nil
  or (kind == 'probes' and same and cur[3] ~= 'closed')
  or (kind == 'reset-if' and same)
if not apply then return reply(0, cur) end
local epoch = cur and cur[1] or new_epoch()
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'epoch', epoch, 'phase', 'closed', 'by', ARGV[3])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return announce({epoch, tostring(gen), 'closed', '0', ARGV[3]})
