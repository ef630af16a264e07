//! Review 12 of `c5930de` (the Review 11 fixes): `exceptions` entries sorted into patterns,
//! constants, error types and the function's own type; the error-type lookup through erased
//! and boxed errors; function fallbacks and when the arguments are dropped.
//!
//! `Review 12: <finding>` marks a test of a finding, fixed; `Review 12, decided` one decided the
//! other way, documented; `Review 12: pinned` behaviour checked and judged right. Code that must
//! compile is in `tests/macro-ui/pass/`, diagnostics in `tests/macro-ui/ui/`. Findings left open
//! are listed in the session note.

use std::error::Error as StdError;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use failfast::{Error, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("timed out")]
struct TimeoutError;

// ---------------------------------------------------------------------------------------------
// The function's own error type in `exceptions`.
// ---------------------------------------------------------------------------------------------

// Review 12: the own-error-type rule compares last names only. `counts::entry` takes an entry
// for "the function's own error type" (and counts every error) when its last name equals the
// last name of `E` in `Result<T, E>`. Error types are very often all called `Error`:
// `Result<T, anyhow::Error>` with `exceptions = [std::io::Error]` (count only I/O failures)
// now counts every error, a parse error included, and opens the circuit for it; so does a
// crate's own `Error` (`Result<T, app::Error>`, or `use crate::Error`), and two `ApiError`s of
// different modules. At `c5930de^` (no own-type rule) the entry was an error type and only I/O
// errors counted: a regression of this commit.
// Fix: take an entry for the own type only when it is spelled as `E` is (same tokens, both
// single names, or both paths ending alike after `crate::`/`self::`), or drop the shortcut
// and decide by type: `caused_by::<E>` already answers true for the error's own type when it
// is an `Error`; for one that is not, compare `TypeId`s (both `'static`) or dispatch on
// `Own<E, T>` with an impl for `Own<E, E>` (autoref).
#[failfast("review12_anyhow_named_error", 3600, exceptions = [std::io::Error], fallback = |_| Ok(0))]
fn anyhow_io_only(io: bool) -> Result<u8, anyhow::Error> {
    if io {
        Err(std::io::Error::other("disk").into())
    } else {
        Err(anyhow::anyhow!("bad number"))
    }
}

mod app {
    /// A crate's own error, named `Error` as most are.
    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        #[error("i/o")]
        Io(#[source] std::io::Error),
        #[error("parse")]
        Parse,
        #[error(transparent)]
        Open(#[from] failfast::Open),
    }
}

#[failfast("review12_app_named_error", 3600, exceptions = [std::io::Error], fallback = |_| Ok(0))]
fn app_io_only(io: bool) -> Result<u8, app::Error> {
    if io {
        Err(app::Error::Io(std::io::Error::other("disk")))
    } else {
        Err(app::Error::Parse)
    }
}

#[test]
fn an_error_type_named_like_an_anyhow_error_does_not_count_every_error() {
    assert_eq!(
        anyhow_io_only(false).map_err(|e| e.to_string()),
        Err("bad number".to_owned()),
        "a parse error is not an io::Error: returned as it is, not counted"
    );
    assert_eq!(anyhow_io_only(true).ok(), Some(0), "an I/O failure counts");
}

#[test]
fn an_error_type_named_like_the_crates_own_error_does_not_count_every_error() {
    assert_eq!(
        app_io_only(false).map_err(|e| e.to_string()),
        Err("parse".to_owned()),
        "app::Error::Parse holds no io::Error: returned as it is, not counted"
    );
    assert_eq!(app_io_only(true).ok(), Some(0), "an I/O failure counts");
}

// Review 12: pinned. The own type spelled otherwise is still found: in a `Box<ApiError>` (by
// `BoxedRoot`), and under an alias (`ApiResult<T>`, by `Chain::root`, `ApiError` being an
// `Error`); both count every error.
#[failfast("review12_own_in_box", 3600, exceptions = [ApiError], fallback = |_| Ok(0))]
fn own_in_box(error: ApiError) -> Result<u8, Box<ApiError>> {
    Err(Box::new(error))
}

#[failfast("review12_own_by_alias", 3600, exceptions = [ApiError], fallback = |_| Ok(0))]
fn own_by_alias(error: ApiError) -> ApiResult<u8> {
    Err(error)
}

#[test]
fn the_own_error_type_in_a_box_or_under_an_alias_counts_every_error() {
    assert_eq!(own_in_box(ApiError::NotFound).ok(), Some(0));
    assert_eq!(own_by_alias(ApiError::NotFound), Ok(0));
}

// ---------------------------------------------------------------------------------------------
// Constants in `exceptions`.
// ---------------------------------------------------------------------------------------------

const DOWN: ApiError = ApiError::Down;

impl ApiError {
    const MISSING: ApiError = ApiError::NotFound;
}

// Review 12: pinned. A constant of the error's own (enum) type, and an associated constant
// behind a path, are compared with the error.
#[failfast("review12_enum_constant", 3600, exceptions = [DOWN], fallback = |_| Ok(0))]
fn enum_constant(error: ApiError) -> ApiResult<u8> {
    Err(error)
}

#[failfast("review12_associated_constant", 3600, exceptions = [ApiError::MISSING], fallback = |_| Ok(0))]
fn associated_constant(error: ApiError) -> ApiResult<u8> {
    Err(error)
}

#[test]
fn constants_of_the_error_type_are_compared() {
    assert_eq!(enum_constant(ApiError::NotFound), Err(ApiError::NotFound));
    assert_eq!(enum_constant(ApiError::Down), Ok(0));
    assert_eq!(associated_constant(ApiError::Down), Err(ApiError::Down));
    assert_eq!(associated_constant(ApiError::NotFound), Ok(0));
}

// ---------------------------------------------------------------------------------------------
// The error-type lookup.
// ---------------------------------------------------------------------------------------------

/// An error that is a `Deref` to the `io::Error` it wraps, as many newtype errors are.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
struct StorageError(#[source] std::io::Error);

impl std::ops::Deref for StorageError {
    type Target = std::io::Error;
    fn deref(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<failfast::Open> for StorageError {
    fn from(open: failfast::Open) -> Self {
        StorageError(open.into())
    }
}

type StorageResult<T> = Result<T, StorageError>;

// Review 12: an error type that is itself an `Error` and also `Deref`s to an error is looked
// into past itself. `(&&&&Chain(e)).root()` tries `BoxedRoot` (any `E: Deref<Target = T>`,
// `T: Error`) before `Chain::root` (`E: Error`), so the chain starts at the `io::Error` the
// `StorageError` derefs to: `exceptions = [StorageError]` never matches a `StorageError`
// (here under an alias, where the own-type shortcut does not apply), and an error type found
// only in `StorageError::source()` but not in the deref target's chain would be missed too.
// The same holds for a newtype over `Box<dyn Error + Send + Sync>` that derefs to it
// (`SharedRoot` wins). Fix: order the tiers so that an error type is its own first link:
// `Box<E>`/`Arc<E>`/`Rc<E>` (which are `Error`s whose `source()` skips `E`) by impls on those
// three types only, above `Chain::root` (`E: Error`); the `dyn Error` tiers (`anyhow::Error`,
// `Box<dyn Error ..>`, neither of which is an `Error`) may stay generic over `Deref`, below it.
#[failfast("review12_deref_error", 3600, exceptions = [StorageError], fallback = |_| Ok(0))]
fn storage() -> StorageResult<u8> {
    Err(StorageError(std::io::Error::other("disk full")))
}

#[test]
fn an_error_type_that_derefs_to_another_error_is_found_as_itself() {
    assert_eq!(
        storage().ok(),
        Some(0),
        "a StorageError is of the listed type StorageError: counted, the fallback answers"
    );
}

type SharedBoxed = Box<dyn StdError + Send + Sync>;
type SendBoxed = Box<dyn StdError + Send>;
type LocalBoxed = Box<dyn StdError>;

#[failfast("review12_lookup_anyhow", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn lookup_anyhow(error: anyhow::Error) -> anyhow::Result<u8> {
    Err(error)
}

#[failfast("review12_lookup_shared", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn lookup_shared(error: SharedBoxed) -> Result<u8, SharedBoxed> {
    Err(error)
}

#[failfast("review12_lookup_send", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn lookup_send(error: SendBoxed) -> Result<u8, SendBoxed> {
    Err(error)
}

#[failfast("review12_lookup_local", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn lookup_local(error: LocalBoxed) -> Result<u8, LocalBoxed> {
    Err(error)
}

#[failfast("review12_lookup_arc_dyn", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn lookup_arc_dyn(
    error: Arc<dyn StdError + Send + Sync>,
) -> Result<u8, Arc<dyn StdError + Send + Sync>> {
    Err(error)
}

#[derive(Debug, thiserror::Error)]
enum Layer {
    #[error("timed out upstream")]
    Upstream(#[source] TimeoutError),
    #[error("other")]
    Other,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

impl From<failfast::Open> for Box<Layer> {
    fn from(open: failfast::Open) -> Self {
        Box::new(Layer::Open(open))
    }
}

#[failfast("review12_lookup_box_e", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn lookup_box_e(error: Layer) -> Result<u8, Box<Layer>> {
    Err(Box::new(error))
}

#[failfast("review12_lookup_rc_dyn", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn lookup_rc_dyn(error: Rc<dyn StdError>) -> Result<u8, Rc<dyn StdError>> {
    Err(error)
}

// Review 12: pinned. Each erased or boxed kind is looked into, starting at the error it holds:
// `anyhow::Error` (also with a context), `Box<dyn Error (+ Send (+ Sync))>`, `Arc<dyn Error +
// Send + Sync>`, `Rc<dyn Error>`, `Box<E>`; an error of another type is not counted.
#[failfast("review12_lookup_context", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn lookup_context(error: anyhow::Error) -> anyhow::Result<u8> {
    Err(error)
}

// Each function's circuit opens at its first counted failure (threshold 1), after which its
// fallback answers everything: the errors that must not count are tried first.
#[test]
fn an_error_type_is_found_in_every_erased_and_boxed_kind() {
    assert!(lookup_anyhow(anyhow::anyhow!("other")).is_err());
    assert_eq!(lookup_anyhow(TimeoutError.into()).ok(), Some(0));
    assert_eq!(
        lookup_context(anyhow::Error::new(TimeoutError).context("calling stock")).ok(),
        Some(0),
        "an anyhow context keeps the error it wraps in the chain"
    );
    assert!(lookup_shared("other".into()).is_err());
    assert_eq!(lookup_shared(Box::new(TimeoutError)).ok(), Some(0));
    assert_eq!(lookup_send(Box::new(TimeoutError)).ok(), Some(0));
    assert!(lookup_local("other".into()).is_err());
    assert_eq!(lookup_local(Box::new(TimeoutError)).ok(), Some(0));
    assert_eq!(lookup_arc_dyn(Arc::new(TimeoutError)).ok(), Some(0));
    assert!(lookup_box_e(Layer::Other).is_err());
    assert_eq!(lookup_box_e(Layer::Upstream(TimeoutError)).ok(), Some(0));
    assert_eq!(lookup_rc_dyn(Rc::new(TimeoutError)).ok(), Some(0));
}

/// A link of a `source()` chain of any length, or one that loops back on itself.
#[derive(Debug)]
struct Link {
    next: Option<Box<Link>>,
    looping: bool,
    last: Option<TimeoutError>,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("link")
    }
}

impl StdError for Link {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        if self.looping {
            return Some(self);
        }
        match (&self.next, &self.last) {
            (Some(next), _) => Some(&**next),
            (None, Some(last)) => Some(last),
            (None, None) => None,
        }
    }
}

fn chain_of(links: usize) -> Link {
    let mut link = Link {
        next: None,
        looping: false,
        last: Some(TimeoutError),
    };
    for _ in 1..links {
        link = Link {
            next: Some(Box::new(link)),
            looping: false,
            last: None,
        };
    }
    link
}

#[failfast("review12_chains", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn chains(error: SharedBoxed) -> Result<u8, SharedBoxed> {
    Err(error)
}

#[failfast("review12_io_in_io", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn io_in_io(error: SharedBoxed) -> Result<u8, SharedBoxed> {
    Err(error)
}

// Review 12: pinned. A chain that loops ends (after `MOST_LINKS` = 64 links) and does not
// count; the error type is found 63 links deep (64 links looked at), not past that, which no
// real chain reaches. An `io::Error` wrapping an `io::Error` wrapping the type is looked
// through (`get_ref`, where `source()` skips the wrapped error).
#[test]
fn looping_and_long_chains_end_and_io_errors_are_looked_through() {
    let looping = Link {
        next: None,
        looping: true,
        last: None,
    };
    assert!(
        chains(Box::new(looping)).is_err(),
        "a loop ends, not counted"
    );
    assert!(
        chains(Box::new(chain_of(64))).is_err(),
        "65 links: past the limit"
    );
    assert_eq!(chains(Box::new(chain_of(63))).ok(), Some(0), "64 links");
    let nested = std::io::Error::other(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        TimeoutError,
    ));
    assert_eq!(io_in_io(Box::new(nested)).ok(), Some(0));
}

// ---------------------------------------------------------------------------------------------
// Fallbacks: generic and async ones, and when the arguments are dropped.
// ---------------------------------------------------------------------------------------------

async fn any_error<E>(_: Error<E>) -> Result<u8, E> {
    Ok(3)
}

#[failfast("review12_generic_async_fn", 3600, fallback = any_error)]
async fn generic_async_fn() -> ApiResult<u8> {
    Err(ApiError::Down)
}

#[failfast("review12_generic_tail_async", 3600, fallback = any_error)]
fn generic_tail_async() -> impl std::future::Future<Output = ApiResult<u8>> {
    async move { Err(ApiError::Down) }
}

#[failfast("review12_generic_box_pin", 3600, fallback = any_error)]
fn generic_box_pin() -> std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<u8>> + Send>> {
    Box::pin(async move { Err(ApiError::Down) })
}

fn any_error_sync<E>(_: Error<E>) -> Result<u8, E> {
    Ok(4)
}

#[failfast("review12_generic_io", 3600, fallback = any_error_sync)]
fn generic_io() -> std::io::Result<u8> {
    Err(std::io::Error::other("disk"))
}

// Review 12: pinned. A fallback generic in the error type serves async functions of each shape
// and an `io::Result` one.
#[tokio::test]
async fn a_fallback_generic_in_the_error_serves_every_shape() {
    assert_eq!(generic_async_fn().await, Ok(3));
    assert_eq!(generic_tail_async().await, Ok(3));
    assert_eq!(generic_box_pin().await, Ok(3));
    assert_eq!(generic_io().ok(), Some(4));
}

/// A resource passed in, which counts how many of its kind are alive.
struct Held(&'static AtomicI32);

impl Held {
    fn new(alive: &'static AtomicI32) -> Self {
        alive.fetch_add(1, Ordering::SeqCst);
        Held(alive)
    }
}

impl Clone for Held {
    fn clone(&self) -> Self {
        Held::new(self.0)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

static RETRIED_ALIVE: AtomicI32 = AtomicI32::new(0);
static RETRIED_ASYNC_ALIVE: AtomicI32 = AtomicI32::new(0);
static UNNAMED_ALIVE: AtomicI32 = AtomicI32::new(0);
static READ_ALIVE: AtomicI32 = AtomicI32::new(0);

fn retried_alive(_: Error<ApiError>) -> ApiResult<i32> {
    Ok(RETRIED_ALIVE.load(Ordering::SeqCst))
}

async fn retried_async_alive(_: Error<ApiError>) -> ApiResult<i32> {
    Ok(RETRIED_ASYNC_ALIVE.load(Ordering::SeqCst))
}

fn unnamed_alive(_: Error<ApiError>) -> ApiResult<i32> {
    Ok(UNNAMED_ALIVE.load(Ordering::SeqCst))
}

fn read_alive(_: Error<ApiError>) -> ApiResult<i32> {
    Ok(READ_ALIVE.load(Ordering::SeqCst))
}

#[failfast("review12_retried_drop", 3600, retry(attempts = 2, wait = fixed("0ms")), fallback = retried_alive)]
fn retried_with(held: Held) -> ApiResult<i32> {
    let _reads = &held;
    Err(ApiError::Down)
}

#[failfast("review12_retried_async_drop", 3600, retry(attempts = 2, wait = fixed("0ms")), fallback = retried_async_alive)]
async fn retried_async_with(held: Held) -> ApiResult<i32> {
    let _reads = &held;
    Err(ApiError::Down)
}

#[failfast("review12_unnamed_drop", 3600, fallback = unnamed_alive)]
fn holding(_permit: Held) -> ApiResult<i32> {
    Err(ApiError::Down)
}

#[failfast("review12_read_drop", 3600, fallback = read_alive)]
fn reading(permit: Held) -> ApiResult<i32> {
    let _reads = &permit;
    Err(ApiError::Down)
}

#[failfast("review12_dropped_drop", 3600, fallback = unnamed_alive)]
fn dropping(permit: Held) -> ApiResult<i32> {
    drop(permit);
    Err(ApiError::Down)
}

// Review 12, decided: a sync body borrows the arguments it does not consume (so that
// `breaker = self.breaker` on `&mut self`, `when` and closure fallbacks may borrow them too), and
// a retried one keeps the originals to copy from: such arguments live until the function
// returns, after a fallback ran. The docs say so, and say to drop a guard or permit in the body
// to free it for the fallback. (Findings 3 and 4 asked for the opposite; moving the arguments
// into the body broke `&mut self` methods with `breaker = self.breaker`, finding 5.)
#[test]
fn a_sync_argument_lives_through_the_fallback_unless_the_body_drops_it() {
    assert_eq!(
        retried_with(Held::new(&RETRIED_ALIVE)),
        Ok(1),
        "the original, kept"
    );
    assert_eq!(
        reading(Held::new(&READ_ALIVE)),
        Ok(1),
        "a read argument, borrowed"
    );
    assert_eq!(holding(Held::new(&UNNAMED_ALIVE)), Ok(1), "an unnamed one");
    assert_eq!(
        dropping(Held::new(&UNNAMED_ALIVE)),
        Ok(0),
        "dropped by the body"
    );
    assert_eq!(
        UNNAMED_ALIVE.load(Ordering::SeqCst),
        0,
        "all dropped on return"
    );
}

// Review 12: pinned. With `retry`, an async function's original arguments are kept to copy
// from, through the fallback, as a sync one's.
#[tokio::test]
async fn a_retried_async_argument_lives_through_the_fallback() {
    assert_eq!(
        retried_async_with(Held::new(&RETRIED_ASYNC_ALIVE)).await,
        Ok(1),
        "the original, kept"
    );
    assert_eq!(
        RETRIED_ASYNC_ALIVE.load(Ordering::SeqCst),
        0,
        "dropped on return"
    );
}

static ASYNC_STATE: Mutex<u32> = Mutex::new(7);

async fn from_async_state(_: Error<ApiError>) -> ApiResult<u32> {
    ASYNC_STATE
        .try_lock()
        .map(|state| *state + 100)
        .map_err(|_| ApiError::Down)
}

#[failfast("review12_async_guard", 3600, fallback = from_async_state)]
async fn with_async_guard(guard: MutexGuard<'static, u32>, fail: bool) -> ApiResult<u32> {
    if fail {
        return Err(ApiError::Down);
    }
    Ok(*guard)
}

// Review 12: pinned. An async function's body owns the arguments it names: a lock guard passed
// in is released before an async function fallback runs (the future finished, and is dropped
// before the fallback is called).
#[tokio::test]
async fn an_async_argument_is_released_before_a_function_fallback_runs() {
    assert_eq!(
        with_async_guard(ASYNC_STATE.lock().unwrap(), false).await,
        Ok(7)
    );
    assert_eq!(
        with_async_guard(ASYNC_STATE.lock().unwrap(), true).await,
        Ok(107)
    );
}
