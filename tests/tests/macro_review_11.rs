//! Review 11 of the macro changes in `ba21d26..05fafae`: `Result` decided by type, diagnostics
//! traits, error types in `exceptions`, closure fallbacks (and the non-`move` sync body), and
//! the tokio stubs.
//!
//! Each finding's test says what was wrong and now holds (`Review 11: <finding>`), or which way
//! it was decided (`Review 11, decided`); `Review 11: pinned` marks behaviour judged correct,
//! kept so that it stays so. Code that must compile is in `tests/macro-ui/pass/`, diagnostics
//! in `tests/macro-ui/ui/`.

use std::fmt::Display;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use failfast::{Breaker, Error, ManualClock, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Open(#[from] failfast::Open),
    #[error(transparent)]
    TimedOut(#[from] failfast::TimedOut),
}

type ApiResult<T> = Result<T, ApiError>;

fn manual_breaker(name: &'static str) -> Breaker {
    Breaker::builder(name)
        .clock(ManualClock::new())
        .open_for(Duration::from_secs(3600))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// `Result` under an alias, decided by type.
// ---------------------------------------------------------------------------------------------

// Review 11: a `Result` under an alias whose `Ok` type is `impl Trait`, with only a fallback,
// is guarded as a function that cannot fail: `expand` sends every `Returns::Unknown` type that
// mentions `impl` to `Guarding::Total` (it cannot be named for the `Guard::<R>` dispatch), so
// its errors are returned as successes, never counted, never answered by the fallback, and the
// circuit never opens. The same function spelled `Result<impl Display, ApiError>` counts them.
// Fixed: without a type to dispatch on, an unknown name is guarded as a `Result`.
#[failfast("review11_alias_impl_trait", 3600, fallback = |_| Ok("stale".to_owned()))]
fn alias_impl_trait(fail: bool) -> ApiResult<impl Display> {
    if fail {
        return Err(ApiError::Down);
    }
    Ok("fresh".to_owned())
}

#[test]
fn an_alias_of_result_with_an_impl_trait_ok_counts_its_errors() {
    fn shown(result: ApiResult<impl Display>) -> ApiResult<String> {
        result.map(|value| value.to_string())
    }
    assert_eq!(shown(alias_impl_trait(false)), Ok("fresh".to_owned()));
    assert_eq!(
        shown(alias_impl_trait(true)),
        Ok("stale".to_owned()),
        "a counted failure is answered by the fallback, as for `Result<impl Display, _>`"
    );
    assert_eq!(
        shown(alias_impl_trait(false)),
        Ok("stale".to_owned()),
        "the failure opened the circuit"
    );
}

// Review 11: pinned. The same function spelled `Result<..>` counts its errors.
#[failfast("review11_result_impl_trait", 3600, fallback = |_| Ok("stale".to_owned()))]
fn result_impl_trait(fail: bool) -> Result<impl Display, ApiError> {
    if fail {
        return Err(ApiError::Down);
    }
    Ok("fresh".to_owned())
}

#[test]
fn a_result_with_an_impl_trait_ok_counts_its_errors() {
    fn shown(result: ApiResult<impl Display>) -> ApiResult<String> {
        result.map(|value| value.to_string())
    }
    assert_eq!(shown(result_impl_trait(false)), Ok("fresh".to_owned()));
    assert_eq!(shown(result_impl_trait(true)), Ok("stale".to_owned()));
    assert_eq!(shown(result_impl_trait(false)), Ok("stale".to_owned()));
}

// Review 11: pinned. An alias as the output of `impl Future` (a tail async block) with only a
// fallback counts its errors.
fn stale_async_answer(error: Error<ApiError>) -> ApiResult<u8> {
    Ok(if error.is_open() { 100 } else { 200 })
}

#[failfast("review11_alias_tail_async", 3600, fallback = stale_async_answer_async)]
fn alias_tail_async(fail: bool) -> impl std::future::Future<Output = ApiResult<u8>> {
    async move { if fail { Err(ApiError::Down) } else { Ok(1) } }
}

async fn stale_async_answer_async(error: Error<ApiError>) -> ApiResult<u8> {
    stale_async_answer(error)
}

#[tokio::test]
async fn an_alias_in_impl_future_with_only_a_fallback_counts_its_errors() {
    assert_eq!(alias_tail_async(false).await, Ok(1));
    assert_eq!(alias_tail_async(true).await, Ok(200));
    assert_eq!(alias_tail_async(false).await, Ok(100));
}

// Review 11: pinned. `#[async_trait]` (`Pin<Box<dyn Future<Output = ApiResult<u8>> + Send>>`):
// an alias with only a closure fallback counts its errors, and the future stays `Send`.
#[async_trait::async_trait]
trait Inventory {
    async fn stock(&self, fail: bool) -> ApiResult<u8>;
}

struct Warehouse {
    breaker: Breaker,
    cached: u8,
}

#[async_trait::async_trait]
impl Inventory for Warehouse {
    #[failfast(breaker = self.breaker, fallback = move |_| async move { Ok(self.cached) })]
    async fn stock(&self, fail: bool) -> ApiResult<u8> {
        if fail { Err(ApiError::Down) } else { Ok(1) }
    }
}

#[tokio::test]
async fn an_async_trait_alias_with_a_closure_fallback_counts_errors_and_is_send() {
    let warehouse = Arc::new(Warehouse {
        breaker: manual_breaker("review11_async_trait"),
        cached: 9,
    });
    let spawned = {
        let warehouse = Arc::clone(&warehouse);
        tokio::spawn(async move { warehouse.stock(true).await })
    };
    assert_eq!(spawned.await.unwrap(), Ok(9));
    assert!(warehouse.breaker.state().is_open());
    assert_eq!(warehouse.stock(false).await, Ok(9));
}

/// A reply that is not a `Result`.
#[derive(Debug, PartialEq)]
struct Reply(u32);

// Review 11: pinned. A type under an unknown name that is not a `Result`, guarded through
// `Guard`/`TotalGuard`, keeps the async function's future `Send` (the trait's `impl Future`
// leaks its auto traits), also with a closure fallback that borrows `self`.
struct Replies {
    breaker: Breaker,
    stale: u32,
}

impl Replies {
    #[failfast(breaker = self.breaker, fallback = move |_| async move { Reply(self.stale) })]
    async fn reply(&self, panics: bool) -> Reply {
        assert!(!panics, "upstream down");
        Reply(1)
    }
}

#[tokio::test]
async fn a_total_async_function_under_an_unknown_name_is_send() {
    let replies = Arc::new(Replies {
        breaker: manual_breaker("review11_total_send"),
        stale: 5,
    });
    let spawned = {
        let replies = Arc::clone(&replies);
        tokio::spawn(async move { replies.reply(true).await })
    };
    assert!(spawned.await.is_err(), "the panic reached the join handle");
    let spawned = {
        let replies = Arc::clone(&replies);
        tokio::spawn(async move { replies.reply(false).await })
    };
    assert_eq!(
        spawned.await.unwrap(),
        Reply(5),
        "the panic opened the circuit"
    );
}

// Review 11: pinned. A return type that is a generic parameter is guarded as total even when
// the caller picks a `Result` (the dispatch happens once, at the definition): its `Err`s are
// answers, not failures. Worth knowing; documented nowhere.
#[failfast("review11_generic_total", 3600, fallback = |_| unreachable!("refused"))]
fn generic_total<R>(make: impl FnOnce() -> R) -> R {
    make()
}

#[test]
fn a_generic_return_type_is_guarded_as_total() {
    let failed: Result<u8, u8> = generic_total(|| Err(1));
    assert_eq!(failed, Err(1), "an Err is an answer");
    let next: Result<u8, u8> = generic_total(|| Ok(2));
    assert_eq!(next, Ok(2), "the Err did not open the circuit");
}

#[failfast("review11_generic_total_async", 3600, fallback = |_| async { unreachable!("refused") })]
async fn generic_total_async<R: Send>(value: R) -> R {
    value
}

#[tokio::test]
async fn a_generic_total_async_function_is_send() {
    let answer = tokio::spawn(generic_total_async(7_u32)).await.unwrap();
    assert_eq!(answer, 7);
}

// Review 11: pinned. A generic fallback whose types are partly named
// (`fn(Error<ApiError>) -> ApiResult<T>`) serves any function of that error.
fn unavailable<T>(_: Error<ApiError>) -> ApiResult<T> {
    Err(ApiError::Down)
}

#[failfast("review11_generic_fallback_partial", 3600, fallback = unavailable)]
fn partial_generic_fallback(fail: bool) -> ApiResult<u8> {
    if fail { Err(ApiError::NotFound) } else { Ok(1) }
}

#[test]
fn a_partly_generic_fallback() {
    assert_eq!(partial_generic_fallback(false), Ok(1));
    assert_eq!(partial_generic_fallback(true), Err(ApiError::Down));
}

// Review 11: pinned. A constructor returning `Self`, with a fallback path `Self::offline`.
struct Client {
    online: bool,
}

impl Client {
    fn offline(_: Error<std::convert::Infallible>) -> Self {
        Client { online: false }
    }

    #[failfast("review11_self_constructor", 3600, fallback = Self::offline)]
    fn connect(panics: bool) -> Self {
        assert!(!panics, "no route");
        Client { online: true }
    }
}

#[test]
fn a_constructor_returning_self_with_a_fallback() {
    assert!(Client::connect(false).online);
    assert!(std::panic::catch_unwind(|| Client::connect(true)).is_err());
    assert!(
        !Client::connect(false).online,
        "the panic opened the circuit"
    );
}

// Review 11: pinned. `use anyhow::Result;` then `-> Result<T>`.
mod anyhow_result {
    use anyhow::Result;
    use failfast::failfast;

    #[failfast("review11_anyhow_result", 3600)]
    pub fn fetch(fail: bool) -> Result<u8> {
        if fail {
            anyhow::bail!("down");
        }
        Ok(1)
    }
}

#[test]
fn anyhow_result_imported_as_result() {
    assert!(anyhow_result::fetch(true).is_err());
    let refused = anyhow_result::fetch(false).unwrap_err();
    assert!(refused.downcast_ref::<failfast::Open>().is_some());
}

// ---------------------------------------------------------------------------------------------
// Error types in `exceptions`.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
#[error("timed out")]
struct TimeoutError;

#[derive(Debug, thiserror::Error)]
enum StoreError {
    // thiserror's usual way to wrap an error, as failfast's own docs wrap `Open` and `TimedOut`.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[failfast("review11_transparent_io", 3600, exceptions = [std::io::Error])]
fn transparent_io(error: StoreError) -> Result<u8, StoreError> {
    Err(error)
}

#[failfast("review11_transparent_io_pattern", 3600, exceptions = [StoreError::Io(_)])]
fn transparent_io_pattern(error: StoreError) -> Result<u8, StoreError> {
    Err(error)
}

// Review 11, decided: an error type is looked for in the `source()` chain, and thiserror's
// `#[error(transparent)]` forwards `source()` to the wrapped error's own source, so the wrapped
// `io::Error` is not in the chain and does not count (std's `Error` gives no way to reach it).
// The docs say so and point at the variant's pattern, which counts.
#[test]
fn behind_a_transparent_variant_the_pattern_counts_and_the_type_does_not() {
    let _ = transparent_io(std::io::Error::other("reset").into());
    assert!(
        matches!(
            transparent_io(StoreError::NotFound),
            Err(StoreError::NotFound)
        ),
        "a transparent variant hides its error from the chain: the circuit stayed closed"
    );
    let _ = transparent_io_pattern(std::io::Error::other("reset").into());
    assert!(
        matches!(
            transparent_io_pattern(StoreError::NotFound),
            Err(StoreError::Open(_))
        ),
        "the pattern counted and opened the circuit"
    );
}

#[derive(Debug, thiserror::Error)]
enum CallError {
    // The time-out kept in the chain as the variant's source, so its type can be listed.
    #[error("{0}")]
    TimedOut(#[from] failfast::TimedOut),
    #[error("bad request")]
    BadRequest,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[failfast(
    "review11_timed_out_type",
    3600,
    exceptions = [failfast::TimedOut],
    call_timeout = "1s",
    retry(attempts = 2, wait = fixed("0ms"))
)]
async fn slow_then_fast(attempts: &AtomicU32) -> Result<u8, CallError> {
    if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if attempts.load(Ordering::SeqCst) > 5 {
        return Err(CallError::BadRequest);
    }
    Ok(1)
}

// Review 11: `exceptions = [failfast::TimedOut]` retries a time-out when the error keeps it in
// its chain (a `#[from]` variant that is not transparent).
#[tokio::test(start_paused = true)]
async fn a_time_out_listed_by_type_is_retried() {
    let attempts = AtomicU32::new(0);
    let answer = slow_then_fast(&attempts).await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "the time-out was retried"
    );
    assert!(matches!(answer, Ok(1)), "{answer:?}");
}

#[failfast("review11_io_custom", 3600, exceptions = [TimeoutError])]
fn io_custom(error: std::io::Error) -> anyhow::Result<u8> {
    Err(error.into())
}

// Review 11: an error type is not found inside an `io::Error` that wraps it
// (`io::Error::new(kind, TimeoutError)`, `io::Error::other(e)`, as hyper, tonic and many
// clients hand errors back): `io::Error::source()` returns the wrapped error's *source*, not the
// wrapped error, so the chain skips it. Fixed: the chain follows `io::Error::get_ref`.
#[test]
fn an_error_type_counts_inside_an_io_error() {
    let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, TimeoutError);
    let _ = io_custom(timed_out);
    let refused = io_custom(std::io::Error::other("bad request")).unwrap_err();
    assert!(
        refused.downcast_ref::<failfast::Open>().is_some(),
        "the io::Error wrapping a TimeoutError counted: {refused}"
    );
}

#[failfast("review11_anyhow_context", 3600, exceptions = [TimeoutError])]
fn anyhow_context(error: anyhow::Error) -> anyhow::Result<u8> {
    Err(error)
}

// Review 11, decided: an error type given to `anyhow` as a context (`.context(TimeoutError)`)
// is not in the `source()` chain (anyhow holds it in a private wrapper, found only by its own
// `downcast_ref`), and does not count; the error under a context does. Contexts are usually
// messages; the docs say to list the error, not the context.
#[test]
fn an_error_type_counts_under_an_anyhow_context_and_not_as_one() {
    let as_context =
        anyhow::Context::context(Err::<(), _>(std::io::Error::other("reset")), TimeoutError)
            .unwrap_err();
    let _ = anyhow_context(as_context);
    let not_refused = anyhow_context(anyhow::anyhow!("other")).unwrap_err();
    assert!(
        not_refused.downcast_ref::<failfast::Open>().is_none(),
        "the TimeoutError context did not count: {not_refused}"
    );
    let under_context =
        anyhow::Context::context(Err::<(), _>(TimeoutError), "reading stock").unwrap_err();
    let _ = anyhow_context(under_context);
    let refused = anyhow_context(anyhow::anyhow!("other")).unwrap_err();
    assert!(
        refused.downcast_ref::<failfast::Open>().is_some(),
        "the TimeoutError under a context counted: {refused}"
    );
}

#[failfast("review11_boxed_concrete", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn boxed_concrete(error: TimeoutError) -> Result<u8, Box<TimeoutError>> {
    Err(Box::new(error))
}

// Review 11: a `Box<E>` (clippy's `result_large_err` advice) or `Arc<E>` error hides `E`
// itself: `Chain::root` starts the chain at the `Box<E>` (which is an `Error` delegating
// `source()` to `E`'s), so `E` is never compared. The erased kinds (`Box<dyn Error>`) start at
// the error they hold. Fixed: a `Deref<Target = E: Error>` tier starts at `E`.
#[test]
fn an_error_type_counts_inside_a_box() {
    assert_eq!(
        boxed_concrete(TimeoutError).map_err(|e| e.to_string()),
        Ok(0),
        "the boxed TimeoutError counted: the fallback answered"
    );
}

// Review 11: pinned. `Box<dyn Error>` without `Send`/`Sync`, and `Arc<dyn Error + Send + Sync>`.
#[failfast("review11_box_dyn_local", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn box_dyn_local(error: Box<dyn std::error::Error>) -> Result<u8, Box<dyn std::error::Error>> {
    Err(error)
}

#[failfast("review11_arc_dyn", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn arc_dyn(
    error: Arc<dyn std::error::Error + Send + Sync>,
) -> Result<u8, Arc<dyn std::error::Error + Send + Sync>> {
    Err(error)
}

#[test]
fn error_types_count_in_local_boxes_and_arcs() {
    assert!(box_dyn_local("other".into()).is_err());
    assert_eq!(box_dyn_local(Box::new(TimeoutError)).ok(), Some(0));
    assert!(arc_dyn(Arc::new(std::io::Error::other("other"))).is_err());
    assert_eq!(arc_dyn(Arc::new(TimeoutError)).ok(), Some(0));
}

// Review 11: pinned. `Self::Variant`, a variant under a module path, `r#` names and the whole
// error type.
mod errors {
    #[derive(Debug, PartialEq, thiserror::Error)]
    pub enum ApiError {
        #[error("timed out")]
        Timeout,
        #[error("not found")]
        NotFound,
        #[error(transparent)]
        Open(#[from] failfast::Open),
    }
}

struct Api {
    breaker: Breaker,
}

impl Api {
    #[failfast(breaker = self.breaker, exceptions = [crate::errors::ApiError::Timeout])]
    fn module_variant(&self, error: errors::ApiError) -> Result<u8, errors::ApiError> {
        Err(error)
    }
}

impl errors::ApiError {
    #[failfast("review11_self_variant", 3600, exceptions = [Self::Timeout])]
    fn self_variant(self) -> Result<u8, Self> {
        Err(self)
    }
}

#[failfast("review11_raw_type", 3600, exceptions = [r#TimeoutError])]
fn raw_type(error: anyhow::Error) -> anyhow::Result<u8> {
    Err(error)
}

#[failfast("review11_whole_type", 3600, exceptions = [StoreError])]
fn whole_type(error: StoreError) -> Result<u8, StoreError> {
    Err(error)
}

#[test]
fn variants_under_paths_raw_names_and_whole_types() {
    let api = Api {
        breaker: manual_breaker("review11_module_variant"),
    };
    assert!(api.module_variant(errors::ApiError::NotFound).is_err());
    assert!(!api.breaker.state().is_open(), "NotFound does not count");
    let _ = api.module_variant(errors::ApiError::Timeout);
    assert!(api.breaker.state().is_open(), "Timeout counts");

    assert_eq!(
        errors::ApiError::NotFound.self_variant(),
        Err(errors::ApiError::NotFound)
    );
    let _ = errors::ApiError::Timeout.self_variant();
    assert!(matches!(
        errors::ApiError::NotFound.self_variant(),
        Err(errors::ApiError::Open(_))
    ));

    let _ = raw_type(anyhow::anyhow!("other"));
    assert!(
        raw_type(anyhow::anyhow!("other"))
            .unwrap_err()
            .downcast_ref::<failfast::Open>()
            .is_none()
    );
    let _ = raw_type(TimeoutError.into());
    assert!(
        raw_type(anyhow::anyhow!("other"))
            .unwrap_err()
            .downcast_ref::<failfast::Open>()
            .is_some()
    );

    let _ = whole_type(StoreError::NotFound);
    assert!(matches!(
        whole_type(StoreError::NotFound),
        Err(StoreError::Open(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Closure fallbacks and the non-`move` sync body.
// ---------------------------------------------------------------------------------------------

static STATE: Mutex<u32> = Mutex::new(7);

fn from_state(_: Error<ApiError>) -> ApiResult<u32> {
    // A fallback that needs the resource the call was given: the lock, a pooled connection.
    STATE
        .try_lock()
        .map(|state| *state + 100)
        .map_err(|_| ApiError::Down)
}

#[failfast("review11_guard_argument", 3600, fallback = from_state)]
fn with_guard(guard: MutexGuard<'static, u32>, fail: bool) -> ApiResult<u32> {
    let state = *guard;
    // Frees the lock for the fallback: an argument the body does not consume lives until the
    // function returns.
    drop(guard);
    if fail {
        return Err(ApiError::Down);
    }
    Ok(state)
}

// Review 11: since the sync body became a non-`move` closure, an argument it only reads is
// dropped when the guarded function returns, after the fallback ran, where it was dropped when
// the body finished before. A lock guard (or pooled connection, or semaphore permit) passed in
// is still held while the fallback runs: a fallback that takes the same lock deadlocks (here,
// `try_lock` fails). The fallback is a path, so it cannot see the argument: nothing needed it
// kept. With `retry` the body is still `move`: the two disagree. Decided (see review 12): the
// body borrows what it does not consume, and the docs say to drop a guard in the body to free
// it for the fallback, as this one does.
#[test]
fn an_argument_the_body_drops_is_released_before_a_function_fallback_runs() {
    assert_eq!(with_guard(STATE.lock().unwrap(), false), Ok(7));
    assert_eq!(
        with_guard(STATE.lock().unwrap(), true),
        Ok(107),
        "the guard was released when the body finished"
    );
}

// Review 11: pinned. Shapes the non-`move` body must keep compiling and meaning the same.
struct Shelf {
    items: Vec<String>,
}

impl Shelf {
    #[failfast("review11_borrowed_return", 3600)]
    fn first(&self) -> Result<&str, ApiError> {
        self.items
            .first()
            .map(String::as_str)
            .ok_or(ApiError::NotFound)
    }

    #[failfast("review11_self_by_value", 3600)]
    fn into_items(self) -> ApiResult<Vec<String>> {
        Ok(self.items)
    }
}

#[failfast("review11_lifetime_return", 3600)]
fn longest<'a>(a: &'a str, b: &'a str) -> Result<&'a str, ApiError> {
    Ok(if a.len() >= b.len() { a } else { b })
}

#[failfast("review11_mut_return", 3600)]
fn first_mut<'a>(items: &'a mut [u32]) -> Result<&'a mut u32, ApiError> {
    items.first_mut().ok_or(ApiError::NotFound)
}

#[failfast("review11_mut_argument", 3600)]
#[inline]
fn counted_up(mut n: u32, by: impl Fn(u32) -> u32) -> ApiResult<u32> {
    n = by(n);
    n += 1;
    Ok(n)
}

#[failfast("review11_generic", 3600)]
fn parsed<T: std::str::FromStr>(text: &str) -> ApiResult<T> {
    text.parse().map_err(|_| ApiError::NotFound)
}

#[failfast("review11_recursive", 3600)]
fn factorial(n: u64) -> ApiResult<u64> {
    if n == 0 {
        return Ok(1);
    }
    Ok(n * factorial(n - 1)?)
}

#[failfast("review11_thread", 3600)]
fn on_a_thread(text: String) -> ApiResult<usize> {
    std::thread::spawn(move || text.len())
        .join()
        .map_err(|_| ApiError::Down)
}

#[failfast("review11_display_ok", 3600)]
fn shown(n: u8) -> Result<impl Display, ApiError> {
    Ok(n)
}

#[test]
fn shapes_of_sync_bodies() {
    let shelf = Shelf {
        items: vec!["pen".to_owned()],
    };
    assert_eq!(shelf.first(), Ok("pen"));
    assert_eq!(longest("ab", "abc"), Ok("abc"));
    let mut items = [1, 2];
    *first_mut(&mut items).unwrap() = 5;
    assert_eq!(items, [5, 2]);
    assert_eq!(counted_up(1, |n| n * 10), Ok(11));
    assert_eq!(parsed::<u8>("42"), Ok(42));
    assert_eq!(factorial(5), Ok(120));
    assert_eq!(on_a_thread("four".to_owned()), Ok(4));
    assert_eq!(shown(3).unwrap().to_string(), "3");
    assert_eq!(shelf.into_items(), Ok(vec!["pen".to_owned()]));
}

// Review 11: pinned. Closure fallbacks: a typed argument, with `retry`, with `call_timeout`.
struct Quotes {
    breaker: Breaker,
    cached: u32,
    calls: AtomicU32,
}

impl Quotes {
    #[failfast(breaker = self.breaker, fallback = |e: failfast::Error<ApiError>| {
        if e.is_open() { Ok(self.cached + 1000) } else { Ok(self.cached) }
    })]
    fn typed(&self, fail: bool) -> ApiResult<u32> {
        if fail { Err(ApiError::Down) } else { Ok(1) }
    }

    #[failfast(breaker = self.breaker, retry(attempts = 2, wait = fixed("0ms")), fallback = |_| Ok(self.cached + sku.len() as u32))]
    fn retried(&self, sku: &str) -> ApiResult<u32> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let _ = sku; // the body's copy of `sku` is otherwise reported unused (see `pass/`)
        Err(ApiError::Down)
    }

    #[failfast(breaker = self.breaker, call_timeout = "1s", fallback = move |_| async move { Ok(self.cached + sku.len() as u32) })]
    async fn timed(&self, sku: &str) -> ApiResult<u32> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(1)
    }
}

#[test]
fn a_typed_closure_fallback() {
    let quotes = Quotes {
        breaker: manual_breaker("review11_typed_closure"),
        cached: 3,
        calls: AtomicU32::new(0),
    };
    assert_eq!(quotes.typed(false), Ok(1));
    assert_eq!(quotes.typed(true), Ok(3));
    assert_eq!(quotes.typed(false), Ok(1003));
}

#[test]
fn a_closure_fallback_with_retry() {
    let quotes = Quotes {
        breaker: Breaker::builder("review11_retry_closure")
            .clock(ManualClock::new())
            .trip(failfast::TripPolicy::consecutive_failures(10))
            .build()
            .unwrap(),
        cached: 3,
        calls: AtomicU32::new(0),
    };
    assert_eq!(quotes.retried("pen"), Ok(6));
    assert_eq!(quotes.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_closure_fallback_with_call_timeout() {
    let quotes = Quotes {
        breaker: manual_breaker("review11_timeout_closure"),
        cached: 3,
        calls: AtomicU32::new(0),
    };
    assert_eq!(quotes.timed("pen").await, Ok(6));
    assert!(quotes.breaker.state().is_open());
}

// Review 11: pinned. A `Result` alias with a borrowed `Ok` and only a closure fallback goes
// through `Guard::<ApiResult<&str>>`, sync and async, and counts its errors.
struct Names {
    breaker: Breaker,
    name: String,
}

impl Names {
    #[failfast(breaker = self.breaker, fallback = |_| Ok("stale"))]
    fn name(&self, fail: bool) -> ApiResult<&str> {
        if fail {
            Err(ApiError::Down)
        } else {
            Ok(&self.name)
        }
    }

    #[failfast(breaker = self.breaker, fallback = move |_| async move { Ok("stale") })]
    async fn name_async(&self, fail: bool) -> ApiResult<&str> {
        if fail {
            Err(ApiError::Down)
        } else {
            Ok(&self.name)
        }
    }
}

#[tokio::test]
async fn an_alias_with_a_borrowed_ok_and_a_closure_fallback() {
    let names = Names {
        breaker: manual_breaker("review11_borrowed_alias"),
        name: "ada".to_owned(),
    };
    assert_eq!(names.name(false), Ok("ada"));
    assert_eq!(names.name(true), Ok("stale"));
    assert_eq!(names.name(false), Ok("stale"), "the failure counted");
    names.breaker.reset();
    assert_eq!(names.name_async(false).await, Ok("ada"));
    assert_eq!(names.name_async(true).await, Ok("stale"));
    assert_eq!(names.name_async(false).await, Ok("stale"));
}
