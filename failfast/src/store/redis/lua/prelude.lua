-- What every script starts with. Every script takes the circuit's keys, KEYS[1] the state hash,
-- KEYS[2] the open key and KEYS[3] the probe tokens, and as its first arguments ARGV[1] the
-- events channel, ARGV[2] the circuit's encoded name and ARGV[3] the writer's id.
--
-- A record is answered as {code, epoch, generation, phase, ms left open, writer}, or {code}
-- when there is none; the phase 'half' is an open record whose open key has expired.
-- What every script starts with.
local function current()
  local s = redis.call('HMGET', KEYS[1], 'epoch', 'gen', 'phase', 'by')
  if not s[1] then return nil end
  local phase, pttl = s[3], 0
  if phase == 'open' then
    pttl = redis.call('PTTL', KEYS[2])
    if pttl <= 0 then phase, pttl = 'half', 0 end
  end
  return {s[1], s[2], phase, tostring(pttl), s[4] or '0'}
end
local function reply(code, record)
  if record then return {code, unpack(record)} end
  return {code}
end
local function new_epoch()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', tonumber(t[2]))
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function announce(record)
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. table.concat(record, ' '))
  return reply(1, record)
end
