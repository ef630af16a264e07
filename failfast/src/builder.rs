//! Configuring a breaker: [`Builder`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::breaker::{Breaker, Shared};
use crate::circuit::{Circuit, TransitionSettings};
use crate::clock::{Clock, ClockHandle};
use crate::error::{ConfigError, Open};
use crate::event::{BreakerInfo, FnListener, Listener, Listeners, Transition};
use crate::half_open::HalfOpenSettings;
use crate::name::Name;
use crate::policy::{TripPolicy, Tripper};
use crate::store::Store;
use crate::thread_counts::Counters;

/// The environment variable that disables every breaker built while it is set to `1` or `true`:
/// for development machines where the dependencies are expected to be down.
///
/// ```
/// assert_eq!(failfast::DISABLED_ENV, "FAILFAST_DISABLED");
/// // In a shell: FAILFAST_DISABLED=1 cargo run
/// ```
pub const DISABLED_ENV: &str = "FAILFAST_DISABLED";

/// The open period of a builder that is given none.
const DEFAULT_OPEN_FOR: Duration = Duration::from_secs(60);

/// Configures a [`Breaker`]; made by [`Breaker::builder`].
///
/// Every setting has a default: the first failure opens the circuit for 60 seconds, then one
/// probe at a time is let through, and one success closes the circuit.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Backoff, Breaker, TripPolicy, Window};
///
/// let breaker = Breaker::builder("orders_db")
///     .trip(TripPolicy::failure_rate(0.5, Window::Time(Duration::from_secs(30))).min_calls(20))
///     .backoff(Backoff::exponential(Duration::from_secs(5), Duration::from_secs(300)).jitter(0.1))
///     .probes(3)
///     .successes_to_close(3)
///     .probe_timeout(Duration::from_secs(10))
///     .on_transition(|t| eprintln!("{}: {:?} -> {:?} ({:?})", t.name, t.from, t.to, t.reason))
///     .build()?;
/// # let _ = breaker;
/// # Ok::<(), failfast::ConfigError>(())
/// ```
pub struct Builder {
    name: Name,
    policy: TripPolicy,
    backoff: Backoff,
    half_open: HalfOpenSettings,
    clock: ClockHandle,
    listeners: Vec<Arc<dyn Listener>>,
    enabled: bool,
    store: Option<Arc<dyn Store>>,
}

impl Builder {
    pub(crate) fn new(name: impl Into<Name>) -> Self {
        Builder {
            name: name.into(),
            policy: TripPolicy::default(),
            backoff: Backoff::constant(DEFAULT_OPEN_FOR),
            half_open: HalfOpenSettings::default(),
            clock: ClockHandle::System,
            listeners: Vec::new(),
            enabled: true,
            store: None,
        }
    }

    /// Keeps the circuit open for `duration` each time it opens (default 60 s).
    /// Shorthand for `.backoff(Backoff::constant(duration))`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .open_for(Duration::from_secs(10))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn open_for(mut self, duration: Duration) -> Self {
        self.backoff = Backoff::constant(duration);
        self
    }

    /// How long each open period lasts, growing as the circuit keeps reopening.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .backoff(Backoff::exponential(Duration::from_secs(1), Duration::from_secs(60)))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// When the closed circuit opens (default: on the first failure).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .trip(TripPolicy::consecutive_failures(3))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn trip(mut self, policy: TripPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How many probe calls may be in flight at once while half-open (default 1, at least 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .probes(3)
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn probes(mut self, probes: u32) -> Self {
        self.half_open.probes = probes;
        self
    }

    /// How many probes must succeed to close the circuit (default 1, at least 1). Any failed
    /// probe opens it again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .probes(3).successes_to_close(5)
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn successes_to_close(mut self, successes: u32) -> Self {
        self.half_open.successes_to_close = successes;
        self
    }

    /// How long a probe may run before its permit is taken back and given to another call
    /// (default 60 s); the late probe's outcome is then ignored. This keeps one hung probe
    /// from holding the circuit half-open forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .probe_timeout(Duration::from_secs(5))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.half_open.probe_timeout = timeout;
        self
    }

    /// The clock the circuit runs on (default [`SystemClock`](crate::SystemClock)). When the
    /// breaker joins a circuit that a store already holds, the circuit keeps the clock it was
    /// made with.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .clock(ManualClock::new())
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = ClockHandle::Custom(Arc::new(clock));
        self
    }

    /// Adds a listener for the breaker's events.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .listener(Quiet)
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl Listener) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }

    /// Calls `f` on every transition of the circuit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .on_transition(|t| eprintln!("{} is now {:?}", t.name, t.to))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn on_transition(self, f: impl Fn(&Transition) + Send + Sync + 'static) -> Self {
        self.listener(FnListener::Transition(Box::new(f)))
    }

    /// Calls `f` on every refused call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .on_rejected(|open| eprintln!("refused: {open}"))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn on_rejected(self, f: impl Fn(&Open) + Send + Sync + 'static) -> Self {
        self.listener(FnListener::Rejected(Box::new(f)))
    }

    /// Calls `f` with the breaker's name on every success.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .on_success(|name| eprintln!("{name} answered"))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn on_success(self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.listener(FnListener::Success(Box::new(f)))
    }

    /// Calls `f` with the breaker's name on every counted failure.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .on_failure(|name| eprintln!("{name} failed"))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn on_failure(self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.listener(FnListener::Failure(Box::new(f)))
    }

    /// Whether the breaker starts enabled (default `true`, or `false` when the environment
    /// variable `FAILFAST_DISABLED` is `1` or `true`). See [`Breaker::set_enabled`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .enabled(cfg!(not(debug_assertions)))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Where the circuit lives (default: a circuit of the breaker's own). Breakers with the same
    /// name and store share one circuit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .store(MemoryStore::new())
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    pub(crate) fn shared_store(mut self, store: Option<Arc<dyn Store>>) -> Self {
        self.store = store;
        self
    }

    /// Uses `clock`, one shared with other builders, or the system clock for `None`.
    pub(crate) fn shared_clock(mut self, clock: Option<Arc<dyn Clock>>) -> Self {
        self.clock = match clock {
            Some(clock) => ClockHandle::Custom(clock),
            None => ClockHandle::System,
        };
        self
    }

    /// Checks every setting and builds the breaker.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker, Listener, ManualClock, MemoryStore, TripPolicy};
    /// # struct Quiet;
    /// # impl Listener for Quiet {}
    /// let breaker = Breaker::builder("api")
    ///     .probes(1)
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn build(self) -> Result<Breaker, ConfigError> {
        self.policy.validate()?;
        self.backoff.validate()?;
        self.half_open.validate()?;
        Ok(self.assemble())
    }

    /// Builds the breaker from settings already known to be valid.
    pub(crate) fn assemble(self) -> Breaker {
        let Builder {
            name,
            policy,
            backoff,
            half_open,
            clock,
            listeners,
            enabled,
            store,
        } = self;
        let create = || Circuit::new(name.clone(), clock.clone());
        let circuit = match &store {
            Some(store) => store.circuit(&name, &create),
            None => create(),
        };
        let info = BreakerInfo {
            name: &name,
            state: circuit.peek(),
        };
        let listeners = listeners
            .into_iter()
            .map(|listener| listener.attach(&info).unwrap_or(listener))
            .collect();
        Breaker::from_shared(Shared {
            name,
            enabled: AtomicBool::new(enabled && !disabled_by_env()),
            tripper: Tripper::new(&policy, circuit.generation()),
            circuit,
            settings: TransitionSettings { half_open, backoff },
            listeners: Listeners::new(listeners),
            counters: Counters::default(),
            store,
            retry_ledger: std::sync::OnceLock::new(),
        })
    }
}

fn disabled_by_env() -> bool {
    std::env::var(DISABLED_ENV).is_ok_and(|v| {
        let v = v.trim();
        v == "1" || v.eq_ignore_ascii_case("true")
    })
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .field("backoff", &self.backoff)
            .field("half_open", &self.half_open)
            .field("clock", &self.clock)
            .field("listeners", &self.listeners.len())
            .field("enabled", &self.enabled)
            .field("store", &self.store)
            .finish()
    }
}
