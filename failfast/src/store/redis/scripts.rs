//! The Lua scripts that read and change a circuit's record in Redis, each atomically, and what
//! they answer.
//!
//! A record is a version, `(epoch, generation)`, a phase and the id of the store that wrote it.
//! The epoch is the Redis server's time when the record was created, so a record made after
//! Redis lost its data (a restart with no persistence, an expired record) still comes after
//! every older one. Every change increments the generation. A change that depends on what the
//! writer last saw carries that version, and is refused, with the current record as the answer,
//! if the record has moved on: a late or repeated write never undoes a newer one.
//!
//! Every script takes the circuit's keys (`state`, `open`, `probes`) and, as its first
//! arguments, the events channel, the circuit's encoded name and the writer's id. A change is
//! published on the channel by the script that made it, so only the winner of a race announces.

use std::time::Duration;

use redis::{Script, Value};

use super::keys::Keys;

/// What every script starts with.
const PRELUDE: &str = r#"
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
"#;

/// Answers the record, or nothing.
const READ: &str = r#"
return reply(0, current())
"#;

/// Opens the circuit. ARGV[4]: `trip` (only a closed or missing record opens), `reopen` (only
/// the record of version ARGV[5..6], not closed since, opens again) or `force`; ARGV[7]: the
/// open period in ms; ARGV[8]: how long the record outlives the period, in ms.
const OPEN: &str = r#"
local cur = current()
local kind = ARGV[4]
local apply = kind == 'force' or cur == nil
  or (kind == 'trip' and cur[3] == 'closed')
  or (kind == 'reopen' and cur[3] ~= 'closed' and cur[1] == ARGV[5] and cur[2] == ARGV[6])
if not apply then return reply(0, cur) end
local epoch = cur and cur[1] or new_epoch()
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'epoch', epoch, 'phase', 'open', 'by', ARGV[3])
redis.call('SET', KEYS[2], epoch .. ':' .. gen, 'PX', ARGV[7])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[7]) + tonumber(ARGV[8]))
redis.call('DEL', KEYS[3])
return announce({epoch, tostring(gen), 'open', ARGV[7], ARGV[3]})
"#;

/// Closes the circuit. ARGV[4]: `probes` (only the open or half-open record of version
/// ARGV[5..6] closes) or `reset`; ARGV[7]: how long the closed record is kept, in ms.
const CLOSE: &str = r#"
local cur = current()
local apply = ARGV[4] == 'reset' or cur == nil
  or (cur[3] ~= 'closed' and cur[1] == ARGV[5] and cur[2] == ARGV[6])
if not apply then return reply(0, cur) end
local epoch = cur and cur[1] or new_epoch()
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'epoch', epoch, 'phase', 'closed', 'by', ARGV[3])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return announce({epoch, tostring(gen), 'closed', '0', ARGV[3]})
"#;

/// Claims probe token ARGV[4] for ARGV[5] ms, if the record is half-open at version ARGV[7..8]
/// (or missing) and fewer than ARGV[6] tokens are held. Answers 1 (claimed), 2 and the ms
/// until the first held token expires (all taken), or 0 and the record (not half-open there).
/// ARGV[9]: how long the record outlives the token, in ms.
const CLAIM: &str = r#"
local cur = current()
if cur and (cur[3] ~= 'half' or cur[1] ~= ARGV[7] or cur[2] ~= ARGV[8]) then
  return reply(0, cur)
end
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return {2, tostring(math.max(tonumber(first[2]) - now, 1))}
end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[4])
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[3], math.max(tonumber(last[2]) - now, 1))
local keep = tonumber(ARGV[5]) + tonumber(ARGV[9])
if cur and redis.call('PTTL', KEYS[1]) < keep then
  redis.call('PEXPIRE', KEYS[1], keep)
end
return {1}
"#;

/// Gives probe token ARGV[4] back, and tells the fleet a token is free.
const RELEASE: &str = r#"
if redis.call('ZREM', KEYS[3], ARGV[4]) == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' probe')
  return 1
end
return 0
"#;

/// The scripts, compiled once per store.
#[derive(Debug)]
pub(super) struct Scripts {
    read: Script,
    open: Script,
    close: Script,
    claim: Script,
    release: Script,
}

impl Scripts {
    pub(super) fn new() -> Scripts {
        let script = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Scripts {
            read: script(READ),
            open: script(OPEN),
            close: script(CLOSE),
            claim: script(CLAIM),
            release: script(RELEASE),
        }
    }
}

/// A record's version: later records have greater versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Version {
    pub(super) epoch: u64,
    pub(super) generation: u64,
}

/// Where the fleet's circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FleetPhase {
    /// Open for this much longer.
    Open(Duration),
    /// The open period ended and no probe has closed or reopened it yet.
    HalfOpen,
    Closed,
}

/// A circuit's record in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Record {
    pub(super) version: Version,
    pub(super) phase: FleetPhase,
    /// The id of the store that wrote it.
    pub(super) by: u64,
}

impl Record {
    /// Parses the fields a script answers or publishes: epoch, generation, phase, ms left, writer.
    pub(super) fn parse<'a>(mut fields: impl Iterator<Item = &'a str>) -> Option<Record> {
        let epoch = fields.next()?.parse().ok()?;
        let generation = fields.next()?.parse().ok()?;
        let phase = fields.next()?;
        let left: u64 = fields.next()?.parse().ok()?;
        let by = fields.next()?.parse().ok()?;
        let phase = match phase {
            "open" => FleetPhase::Open(Duration::from_millis(left)),
            "half" => FleetPhase::HalfOpen,
            "closed" => FleetPhase::Closed,
            _ => return None,
        };
        Some(Record {
            version: Version { epoch, generation },
            phase,
            by,
        })
    }
}

/// A change to push to the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Open for `open_for`, if the fleet's circuit is closed: a trip.
    Trip,
    /// Open again after a failed probe, if the fleet's circuit is still in the period we knew.
    Reopen,
    /// Open, whatever the fleet's circuit is doing.
    Force,
    /// Close after successful probes, if the fleet's circuit is still in the period we knew.
    Close,
    /// Close, whatever the fleet's circuit is doing.
    Reset,
}

/// What a script answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// The change was made: the record as it now stands.
    Made(Record),
    /// Nothing was changed: the record as it stands, if there is one.
    Unchanged(Option<Record>),
    /// The probe token was claimed.
    Claimed,
    /// Every probe token is held; the first expires after this long.
    Taken(Duration),
}

/// One script call: its keys and arguments.
pub(super) struct Call<'a> {
    pub(super) keys: &'a Keys,
    pub(super) channel: &'a str,
    pub(super) writer: u64,
}

impl Call<'_> {
    fn invocation<'s>(&self, script: &'s Script) -> redis::ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&self.keys.state)
            .key(&self.keys.open)
            .key(&self.keys.probes)
            .arg(self.channel)
            .arg(&self.keys.encoded)
            .arg(self.writer);
        invocation
    }

    pub(super) async fn read<C>(
        &self,
        scripts: &Scripts,
        conn: &mut C,
    ) -> redis::RedisResult<Answer>
    where
        C: redis::aio::ConnectionLike + Send,
    {
        let value = self.invocation(&scripts.read).invoke_async(conn).await?;
        parse(value)
    }

    /// Pushes `change`, made after seeing `base`; an open lasts `open_for`, and the record
    /// outlives what needs it by `keep`.
    pub(super) async fn push<C>(
        &self,
        scripts: &Scripts,
        conn: &mut C,
        change: Change,
        base: Option<Version>,
        open_for: Duration,
        keep: Duration,
    ) -> redis::RedisResult<Answer>
    where
        C: redis::aio::ConnectionLike + Send,
    {
        let (script, kind, opens) = match change {
            Change::Trip => (&scripts.open, "trip", true),
            Change::Reopen => (&scripts.open, "reopen", true),
            Change::Force => (&scripts.open, "force", true),
            Change::Close => (&scripts.close, "probes", false),
            Change::Reset => (&scripts.close, "reset", false),
        };
        let (epoch, generation) = base.map_or((String::new(), String::new()), |v| {
            (v.epoch.to_string(), v.generation.to_string())
        });
        let mut invocation = self.invocation(script);
        invocation.arg(kind).arg(epoch).arg(generation);
        if opens {
            invocation.arg(millis(open_for));
        }
        invocation.arg(millis(keep));
        parse(invocation.invoke_async(conn).await?)
    }

    /// Claims the probe token `holder` for `ttl`, if fewer than `probes` are held in the
    /// half-open period `base`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn claim<C>(
        &self,
        scripts: &Scripts,
        conn: &mut C,
        holder: &str,
        ttl: Duration,
        probes: u32,
        base: Option<Version>,
        keep: Duration,
    ) -> redis::RedisResult<Answer>
    where
        C: redis::aio::ConnectionLike + Send,
    {
        let (epoch, generation) = base.map_or((String::new(), String::new()), |v| {
            (v.epoch.to_string(), v.generation.to_string())
        });
        let mut invocation = self.invocation(&scripts.claim);
        invocation
            .arg(holder)
            .arg(millis(ttl))
            .arg(probes)
            .arg(epoch)
            .arg(generation)
            .arg(millis(keep));
        parse(invocation.invoke_async(conn).await?)
    }

    /// Gives the probe token `holder` back.
    pub(super) async fn release<C>(
        &self,
        scripts: &Scripts,
        conn: &mut C,
        holder: &str,
    ) -> redis::RedisResult<()>
    where
        C: redis::aio::ConnectionLike + Send,
    {
        let mut invocation = self.invocation(&scripts.release);
        invocation.arg(holder);
        let _: Value = invocation.invoke_async(conn).await?;
        Ok(())
    }
}

/// A duration in whole milliseconds, at least one (Redis refuses a zero expiry).
pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, i64::MAX as u64 / 2)
}

fn parse(value: Value) -> redis::RedisResult<Answer> {
    let malformed = || {
        redis::RedisError::from((
            redis::ErrorKind::Parse,
            "failfast: unexpected answer from a script",
        ))
    };
    let Value::Array(items) = value else {
        return Err(malformed());
    };
    let mut items = items.into_iter();
    let code = match items.next() {
        Some(Value::Int(code)) => code,
        _ => return Err(malformed()),
    };
    let fields: Vec<String> = items
        .map(|item| redis::from_redis_value::<String>(item).map_err(|_| malformed()))
        .collect::<Result<_, _>>()?;
    let record = || Record::parse(fields.iter().map(String::as_str)).ok_or_else(malformed);
    Ok(match (code, fields.len()) {
        (0, 0) => Answer::Unchanged(None),
        (0, _) => Answer::Unchanged(Some(record()?)),
        (1, 0) => Answer::Claimed,
        (1, _) => Answer::Made(record()?),
        (2, 1) => Answer::Taken(Duration::from_millis(
            fields[0].parse().map_err(|_| malformed())?,
        )),
        _ => return Err(malformed()),
    })
}
