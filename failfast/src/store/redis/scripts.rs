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
use super::link::Pending;
use crate::store::ProbeClaim;

// The scripts, in `lua/`: each file says what it takes and answers.
const PRELUDE: &str = include_str!("lua/prelude.lua");
const READ: &str = include_str!("lua/read.lua");
const OPEN: &str = include_str!("lua/open.lua");
const CLOSE: &str = include_str!("lua/close.lua");
const CLAIM: &str = include_str!("lua/claim.lua");
const RELEASE: &str = include_str!("lua/release.lua");

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

    /// Pushes `pending`; an open lasts `open_for`, and the record outlives what needs it by
    /// `keep`. The change's number goes with it: a change pushed again after its answer was
    /// lost is not made twice.
    pub(super) async fn push<C>(
        &self,
        scripts: &Scripts,
        conn: &mut C,
        pending: &Pending,
        open_for: Duration,
        keep: Duration,
    ) -> redis::RedisResult<Answer>
    where
        C: redis::aio::ConnectionLike + Send,
    {
        let (script, kind, opens) = match pending.change {
            Change::Trip => (&scripts.open, "trip", true),
            Change::Reopen => (&scripts.open, "reopen", true),
            Change::Force => (&scripts.open, "force", true),
            Change::Close => (&scripts.close, "probes", false),
            Change::Reset => (&scripts.close, "reset", false),
        };
        let (epoch, generation) = version_args(pending.base);
        let mut invocation = self.invocation(script);
        invocation.arg(kind).arg(epoch).arg(generation);
        if opens {
            invocation.arg(millis(open_for));
        }
        invocation.arg(millis(keep)).arg(pending.seq);
        parse(invocation.invoke_async(conn).await?)
    }

    /// Claims the probe token `holder` for `claim` (or renews it, if `holder` has it), if
    /// fewer than `claim.probes` are held in the half-open period `base`.
    pub(super) async fn claim<C>(
        &self,
        scripts: &Scripts,
        conn: &mut C,
        holder: &str,
        claim: &ProbeClaim,
        base: Option<Version>,
        keep: Duration,
    ) -> redis::RedisResult<Answer>
    where
        C: redis::aio::ConnectionLike + Send,
    {
        let (epoch, generation) = version_args(base);
        let mut invocation = self.invocation(&scripts.claim);
        invocation
            .arg(holder)
            .arg(millis(claim.ttl))
            .arg(claim.probes)
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

/// A version as script arguments: epoch and generation, empty for none.
fn version_args(version: Option<Version>) -> (String, String) {
    version.map_or((String::new(), String::new()), |v| {
        (v.epoch.to_string(), v.generation.to_string())
    })
}

/// The longest time the store writes into Redis: ten years. Scripts add two such times in Lua,
/// whose numbers are doubles, and Redis takes the sum as an integer only while it is exact.
const MAX_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

/// A duration in whole milliseconds, at least one (Redis refuses a zero expiry) and at most
/// [`MAX_MS`]: a circuit forced open for longer stays open ten years in the fleet.
pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_MS)
}

fn parse(value: Value) -> redis::RedisResult<Answer> {
    let malformed = || {
        redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
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
