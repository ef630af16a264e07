-- Opens the circuit. ARGV[4]: `trip` (only a closed or missing record opens), `reopen` (only
-- the record of version ARGV[5..6], not closed since, opens again) or `force`; ARGV[7]: the
-- open period in ms; ARGV[8]: how long the record outlives the period, in ms; ARGV[9]: the
-- change's number among its writer's (a change already made is not made again).
local cur = current()
local kind = ARGV[4]
local mark = 'change:' .. ARGV[3]
if cur and redis.call('HGET', KEYS[1], mark) == ARGV[9] then return reply(0, cur) end
local apply = kind == 'force' or cur == nil
  or (kind == 'trip' and cur[3] == 'closed')
  or (kind == 'reopen' and cur[3] ~= 'closed' and cur[1] == ARGV[5] and cur[2] == ARGV[6])
if not apply then return reply(0, cur) end
local epoch = cur and cur[1] or new_epoch()
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'epoch', epoch, 'phase', 'open', 'by', ARGV[3], mark, ARGV[9])
redis.call('SET', KEYS[2], epoch .. ':' .. gen, 'PX', ARGV[7])
redis.call('PEXPIRE', KEYS[1], string.format('%d', tonumber(ARGV[7]) + tonumber(ARGV[8])))
redis.call('DEL', KEYS[3])
return announce({epoch, tostring(gen), 'open', ARGV[7], ARGV[3]})
