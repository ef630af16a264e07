//! The process-wide [`Registry`] of breakers by name.

mod sites;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use crate::breaker::Breaker;
use crate::builder::Builder;
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::event::{FnListener, Listener, Transition};
use crate::name::Name;
use crate::store::Store;

pub(crate) use self::sites::Site;

/// Breakers by name: asking twice for a name gives the same breaker, so every call site that
/// names a dependency shares its circuit, like the Python decorator's store keyed by name.
///
/// Start-up code sets the defaults that the registry's breakers are made with.
///
/// ```
/// use std::time::Duration;
/// use failfast::{MemoryStore, Registry};
///
/// let registry = Registry::new(); // or Registry::global(), the process's own
/// registry.set_default_store(MemoryStore::new());
///
/// let a = registry.get_or_create("crm", Duration::from_secs(30));
/// let b = registry.get_or_create("crm", Duration::from_secs(5)); // already made: same breaker
/// let _ = a.call(|| Err::<(), _>("crm down"));
/// assert!(b.state().is_open());
/// ```
#[derive(Debug, Default)]
pub struct Registry {
    breakers: RwLock<HashMap<Name, Breaker>>,
    defaults: RwLock<Defaults>,
    /// The `#[failfast("name", ..)]` functions that made breakers, by name.
    sites: Mutex<HashMap<Name, Site>>,
}

#[derive(Clone)]
struct Defaults {
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn Clock>>,
    listeners: Vec<Arc<dyn Listener>>,
    enabled: bool,
}

impl std::fmt::Debug for Defaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Defaults")
            .field("store", &self.store)
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .field("listeners", &self.listeners.len())
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            store: None,
            clock: None,
            listeners: Vec::new(),
            enabled: true,
        }
    }
}

impl Registry {
    /// An empty registry of its own, for tests and for programs that keep several.
    ///
    /// ```
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// assert!(registry.names().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry of the process.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Registry;
    /// let breaker = Registry::global().get_or_create("payments_doc", Duration::from_secs(60));
    /// assert_eq!(Registry::global().get("payments_doc").unwrap().name(), breaker.name());
    /// ```
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
    }

    /// The breaker named `name`, if there is one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// assert!(registry.get("auth").is_none());
    /// registry.get_or_create("auth", Duration::from_secs(60));
    /// assert!(registry.get("auth").is_some());
    /// ```
    pub fn get(&self, name: &str) -> Option<Breaker> {
        let breakers = self.breakers.read().unwrap_or_else(|p| p.into_inner());
        breakers.get(name).cloned()
    }

    /// The breaker named `name`, made with `Breaker::new` semantics and the registry's
    /// defaults if there is none yet. An existing breaker keeps the settings it was made with.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// let breaker = registry.get_or_create("auth", Duration::from_secs(60));
    /// assert_eq!(breaker.name(), "auth");
    /// ```
    pub fn get_or_create(&self, name: impl Into<Name>, open_for: Duration) -> Breaker {
        self.get_or_create_with(name.into(), |builder| builder.open_for(open_for))
    }

    /// The breaker named `name`; if there is none yet, `configure` sets up a builder that starts
    /// from the registry's defaults, and the result is kept.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Registry, TripPolicy};
    ///
    /// let registry = Registry::new();
    /// let breaker = registry.get_or_build("search", |b| {
    ///     b.trip(TripPolicy::consecutive_failures(3)).open_for(Duration::from_secs(10))
    /// })?;
    /// assert_eq!(breaker.name(), "search");
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn get_or_build(
        &self,
        name: impl Into<Name>,
        configure: impl FnOnce(Builder) -> Builder,
    ) -> Result<Breaker, ConfigError> {
        let name = name.into();
        if let Some(breaker) = self.get(&name) {
            return Ok(breaker);
        }
        let breaker = configure(self.builder(name.clone())).build()?;
        Ok(self.insert(name, breaker))
    }

    /// The breaker named `name`; if there is none yet, `configure` sets up a builder that starts
    /// from the registry's defaults, with settings the caller knows to be valid.
    pub(crate) fn get_or_create_with(
        &self,
        name: Name,
        configure: impl FnOnce(Builder) -> Builder,
    ) -> Breaker {
        if let Some(breaker) = self.get(&name) {
            return breaker;
        }
        let breaker = configure(self.builder(name.clone())).assemble();
        self.insert(name, breaker)
    }

    /// The breaker named `name` for the `#[failfast]` function at `site`: made with
    /// `configure` if there is none yet. A function that names a circuit another made with
    /// other settings is reported, as is one whose breaker was made elsewhere.
    pub(crate) fn get_or_create_for_macro(
        &self,
        name: Name,
        site: Site,
        configure: impl FnOnce(Builder) -> Builder,
    ) -> Breaker {
        if let Some(breaker) = self.get(&name) {
            self.check_site(&name, site);
            return breaker;
        }
        // Built outside the lock: building runs user code (a listener's `attach`), which may
        // call another `#[failfast]` function.
        let built = configure(self.builder(name.clone())).assemble();
        // Held from here on, so that a function that finds the breaker made also finds who
        // made it. Each function asks once, so nothing waits on it for long.
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        if self.get(&name).is_some() {
            drop(sites);
            self.check_site(&name, site); // another thread made it meanwhile: `built` is dropped
        } else {
            sites.insert(name.clone(), site);
        }
        self.insert(name, built)
    }

    /// Reports a `#[failfast]` function at `site` that found the breaker `name` made, if the
    /// function that made it set it up otherwise, or if no function made it.
    fn check_site(&self, name: &Name, site: Site) {
        let sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        match sites.get(name) {
            Some(first) if !first.agrees_with(&site) => {
                let first = *first;
                drop(sites); // a panic in debug builds must not poison the map
                sites::report_conflict(name, &first, &site);
            }
            Some(_) => {}
            None => {
                drop(sites);
                sites::report_made_elsewhere(name, &site);
            }
        }
    }

    /// A builder for `name` starting from the registry's defaults: its store, clock, switch and
    /// listeners. The breaker it builds is not kept by the registry, nor listed by
    /// [`breakers`](Registry::breakers): [`get_or_build`](Registry::get_or_build) keeps it.
    ///
    /// ```
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// registry.set_default_enabled(false);
    /// let breaker = registry.builder("local").build()?;
    /// assert!(!breaker.is_enabled());
    /// assert!(registry.get("local").is_none());
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn builder(&self, name: impl Into<Name>) -> Builder {
        let defaults = self.defaults.read().unwrap_or_else(|p| p.into_inner());
        let builder = Breaker::builder(name)
            .enabled(defaults.enabled)
            .shared_store(defaults.store.clone())
            .shared_clock(defaults.clock.clone());
        defaults
            .listeners
            .iter()
            .fold(builder, |builder, listener| {
                builder.listener(listener.clone())
            })
    }

    /// Keeps `breaker` under `name` unless another thread kept one first; returns the kept one.
    fn insert(&self, name: Name, breaker: Breaker) -> Breaker {
        let mut breakers = self.breakers.write().unwrap_or_else(|p| p.into_inner());
        breakers.entry(name).or_insert(breaker).clone()
    }

    /// The store that breakers made from now on live in (default: a circuit of their own).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{MemoryStore, Registry};
    /// let registry = Registry::new();
    /// let store = MemoryStore::new();
    /// registry.set_default_store(store.clone());
    /// registry.get_or_create("auth", Duration::from_secs(60));
    /// assert_eq!(store.names(), ["auth"]);
    /// ```
    pub fn set_default_store(&self, store: impl Store) {
        let mut defaults = self.defaults.write().unwrap_or_else(|p| p.into_inner());
        defaults.store = Some(Arc::new(store));
    }

    /// The clock that breakers made from now on read (default: the system clock). With
    /// [`TokioClock`](crate::TokioClock) (feature `tokio`), the registry's breakers, and so
    /// every `#[failfast("name", ..)]` function's, follow tokio's paused time in tests: set it
    /// before the first guarded call, as breakers keep the clock they were made with.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{ManualClock, Registry};
    /// let registry = Registry::new();
    /// let clock = ManualClock::new();
    /// registry.set_default_clock(clock.clone());
    /// let breaker = registry.get_or_create("auth", Duration::from_secs(60));
    /// let _ = breaker.call(|| Err::<(), _>("down"));
    /// clock.advance(Duration::from_secs(60));
    /// assert!(breaker.state().is_half_open());
    /// ```
    pub fn set_default_clock(&self, clock: impl Clock) {
        let mut defaults = self.defaults.write().unwrap_or_else(|p| p.into_inner());
        defaults.clock = Some(Arc::new(clock));
    }

    /// Adds a listener that every breaker made from now on has: one place for the metrics and
    /// logs of all the registry's breakers, the `#[failfast("name", ..)]` functions' included,
    /// without naming each. Add it at start-up, before the first guarded call: breakers
    /// already made keep the listeners they were made with, and so does one whose build
    /// another thread had begun (a caller racing that build may be given it).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use failfast::Registry;
    ///
    /// let registry = Registry::new();
    /// let opened = Arc::new(Mutex::new(Vec::new()));
    /// let log = opened.clone();
    /// registry.on_transition(move |t| log.lock().unwrap().push(t.to_string()));
    /// for name in ["auth", "search"] {
    ///     let breaker = registry.get_or_create(name, Duration::from_secs(60));
    ///     let _ = breaker.call(|| Err::<(), _>("down"));
    /// }
    /// assert_eq!(
    ///     *opened.lock().unwrap(),
    ///     ["auth: closed -> open (1 failure; open for 60s)", "search: closed -> open (1 failure; open for 60s)"]
    /// );
    /// ```
    pub fn add_listener(&self, listener: impl Listener) {
        let mut defaults = self.defaults.write().unwrap_or_else(|p| p.into_inner());
        defaults.listeners.push(Arc::new(listener));
    }

    /// Calls `f` on every transition of every breaker made from now on: see
    /// [`add_listener`](Self::add_listener).
    pub fn on_transition(&self, f: impl Fn(&Transition) + Send + Sync + 'static) {
        self.add_listener(FnListener::Transition(Box::new(f)));
    }

    /// Whether breakers made from now on start enabled (default `true`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// registry.set_default_enabled(false);
    /// assert!(!registry.get_or_create("auth", Duration::from_secs(60)).is_enabled());
    /// ```
    pub fn set_default_enabled(&self, enabled: bool) {
        let mut defaults = self.defaults.write().unwrap_or_else(|p| p.into_inner());
        defaults.enabled = enabled;
    }

    /// Every breaker kept, by name: for a health or status endpoint, each with its
    /// [`name`](Breaker::name), [`state`](Breaker::state) and [`stats`](Breaker::stats).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// registry.get_or_create("search", Duration::from_secs(60));
    /// registry.get_or_create("auth", Duration::from_secs(60)).force_open(Duration::from_secs(60));
    /// let report: Vec<String> = registry
    ///     .breakers()
    ///     .iter()
    ///     .map(|b| format!("{}: {} after {} calls", b.name(), b.state().phase(), b.stats().calls))
    ///     .collect();
    /// assert_eq!(report, ["auth: open after 0 calls", "search: closed after 0 calls"]);
    /// ```
    pub fn breakers(&self) -> Vec<Breaker> {
        let mut breakers: Vec<Breaker> = {
            let breakers = self.breakers.read().unwrap_or_else(|p| p.into_inner());
            breakers.values().cloned().collect()
        };
        breakers.sort_by(|a, b| a.name().as_str().cmp(b.name().as_str()));
        breakers
    }

    /// The names of the breakers kept.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// registry.get_or_create("auth", Duration::from_secs(60));
    /// assert_eq!(registry.names(), ["auth"]);
    /// ```
    pub fn names(&self) -> Vec<Name> {
        let breakers = self.breakers.read().unwrap_or_else(|p| p.into_inner());
        breakers.keys().cloned().collect()
    }

    /// Stops keeping the breaker named `name`, and returns it. Clones of it keep working; the
    /// next [`get_or_create`](Self::get_or_create) of the name makes a new breaker, whose
    /// [`stats`](Breaker::stats) start from zero. For registries of breakers per host or tenant,
    /// whose names come and go. With a default store, the new breaker joins the old circuit if
    /// the store still holds it: a [`MemoryStore`](crate::MemoryStore) holds it while it is open.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// registry.get_or_create(format!("hosts/{}", "eu-1"), Duration::from_secs(60));
    /// assert!(registry.remove("hosts/eu-1").is_some());
    /// assert!(registry.names().is_empty());
    /// ```
    pub fn remove(&self, name: &str) -> Option<Breaker> {
        let mut breakers = self.breakers.write().unwrap_or_else(|p| p.into_inner());
        breakers.remove(name)
    }

    /// [Resets](Breaker::reset) every breaker kept: each circuit closes and forgets its
    /// failures and backoff. For tests of code guarded by `#[failfast("name", ..)]`, whose
    /// breakers live in [`Registry::global`] for the whole test run: a test that starts with
    /// it does not inherit a circuit that another test opened. (Tests that run at the same
    /// time and use the same names still share their circuits: run those one at a time.)
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Registry;
    /// let registry = Registry::new();
    /// let breaker = registry.get_or_create("auth", Duration::from_secs(60));
    /// let _ = breaker.call(|| Err::<(), _>("down"));
    /// registry.reset_all();
    /// assert!(breaker.state().is_closed());
    /// ```
    pub fn reset_all(&self) {
        // Reset outside the lock (`breakers` releases it): a transition listener may ask the
        // registry for a breaker.
        for breaker in self.breakers() {
            breaker.reset();
        }
    }
}
