//! The `#[failfast]` attribute macro. Use it through the `failfast` crate, which re-exports it:
//! `use failfast::failfast;`.

mod counts;
mod expand;
mod parse;
mod retry;
mod returns;
mod validate;

use proc_macro::TokenStream;

/// Guards a function with a circuit breaker: the Rust form of the Python decorator
/// `@failfast(name, timeout, exceptions=...)`.
///
/// ```
/// use failfast::failfast;
///
/// #[derive(Debug, thiserror::Error)]
/// enum ApiError {
///     #[error("timed out")]
///     Timeout,
///     #[error(transparent)]
///     Open(#[from] failfast::Open),
/// }
///
/// #[failfast("sales_api", 60)]
/// fn get_invoices() -> Result<Vec<u32>, ApiError> {
///     Err(ApiError::Timeout)
/// }
///
/// assert!(matches!(get_invoices(), Err(ApiError::Timeout)));
/// // The failure opened the `sales_api` circuit for 60 s: the body does not run.
/// assert!(matches!(get_invoices(), Err(ApiError::Open(_))));
/// ```
///
/// The first counted failure opens the circuit named `"sales_api"` for 60 seconds. While it is
/// open, the body does not run and the function returns `Err(E::from(failfast::Open))`, so the
/// error type needs `From<failfast::Open>`: `anyhow::Error` and
/// `Box<dyn Error + Send + Sync>` have it, and a thiserror enum gets it from a
/// `#[from] failfast::Open` variant. Then one probe call is let through: its success closes the
/// circuit, its failure opens it again. The function's signature stays as written.
///
/// The function returns a `Result` under any name: `io::Result<T>` (failfast converts `Open`
/// and `TimedOut` into `io::Error`s), `anyhow::Result<T>`, or an alias of your own,
/// `type ApiResult<T> = Result<T, ApiError>`, decided by the type. An error
/// type without `From<failfast::Open>` is a compile error at the return type that says what to
/// add; so is a fallback of the wrong signature, at the fallback.
///
/// The same name means the same circuit, in every function and module that uses it: breakers
/// live in the process-wide [`Registry`](../failfast/struct.Registry.html), and the first
/// function to run makes the breaker with its settings. Functions that share a name must
/// agree on `secs` and `threshold`: one that does not is reported when it first runs, with a
/// `tracing` warning (failfast's `tracing` feature) and, in debug builds, a panic that names
/// both functions. A breaker made before any function runs
/// (`Registry::global().get_or_build(..)`) keeps its own settings, reported at `INFO`: that is
/// how a circuit gets settings the macro has no option for.
///
/// # Options
///
/// - `"name", secs` or `name = "...", secs = N`: the circuit and how long it stays open, in
///   seconds (an integer or float literal greater than zero). `secs` is what the Python
///   decorator calls `timeout`; it is named otherwise here so that nobody takes it for a time
///   limit on the call (that is `call_timeout`, below), and `timeout = ..` is an error that says
///   so. `open_for = <Duration>` instead of `secs` takes any expression.
/// - `exceptions = [pattern, ...]`: only errors matching one of the patterns (tried against
///   `&E`, each with an optional `if` guard) count as failures; the others are returned
///   unchanged and count as nothing. Without it every `Err` counts. An entry may also name an
///   error type, as in Python's `exceptions=[IOError]`: `exceptions = [std::io::Error,
///   TimeoutError]` counts an error that is of that type or was caused by one (found in its
///   `source()` chain), on `anyhow::Result`, `Box<dyn Error (+ Send (+ Sync))>`, `Box<E>`,
///   `Arc<E>` and any `std::error::Error` enum alike; an `io::Error` wrapping an error
///   (`io::Error::other(e)`) is looked into. A path whose last two names are capitalized
///   (`ApiError::Timeout`) is a variant; a capitalized name alone (`TimeoutError`), after a
///   module (`std::io::Error`) or with type arguments (`Wrapped::<io::Error>`) is a type, so
///   write variants with their enum. A name in capitals of two letters or more
///   (`libc::EAGAIN`) is a constant, compared with the error, as Rust's naming conventions
///   have it; so an error type named in capitals (`struct TLS`) is read as a constant too:
///   count it by its variant (`ApiError::Tls(_)`) or with `when`. The function's own error
///   type, as its return type spells it (`exceptions = [ApiError]` on `Result<T, ApiError>`),
///   counts every error; under an alias (`ApiResult<T>`), leave `exceptions` out for that.
///   What the chain does not show is not found: a thiserror
///   `#[error(transparent)]` variant forwards `source()` past the error it wraps, and an
///   `anyhow` context is not in the chain; list such a variant by its pattern
///   (`ApiError::Io(_)`, `ApiError::TimedOut(_)`).
/// - `when = <predicate>`: like `exceptions`, for conditions a pattern cannot say; any
///   `Fn(&E) -> bool`.
/// - `threshold = N`: open after `N` counted failures in a row (default 1).
/// - `store = <expr>`: where the circuit lives (any `failfast::Store`), evaluated once.
/// - `enabled = <bool expr>`: evaluated on every call; `false` calls the body directly.
/// - `breaker = <expr>`: use a breaker configured elsewhere (an expression that borrows as
///   `&failfast::Breaker`), instead of `name`, `secs`, `threshold` and `store`. It is evaluated
///   on every call and may use the function's arguments: `breaker = self.breaker`, or
///   `breaker = hosts.breaker(host)` for a breaker per host.
/// - `fallback = <path>`: a function of the same asyncness that receives the
///   `failfast::Error<E>` (the rejection, or a counted failure) and returns the function's
///   return type. Errors that do not count are returned as they are, without the fallback.
///   With a fallback, the function may return a type that is not a `Result`; its body then
///   fails only by panicking, and the fallback (taking `failfast::Error<std::convert::Infallible>`)
///   answers while the circuit is open. A generic fallback (`fn zero<R: Default>(_:
///   failfast::Error<E>) -> R`) serves many functions. An argument the body does not consume
///   (or, with `retry`, the original each attempt copies) lives until the function returns,
///   after the fallback: to free a lock guard or a pooled connection for the fallback, drop it
///   in the body (`drop(guard)`).
/// - `fallback = |error| ...`: a closure, for a fallback that needs `self` or the arguments,
///   such as an answer cached per key: `fallback = |_| self.cached(sku)`; on an async
///   function it returns a future, `fallback = move |_| async move { self.cached(sku) }`. It
///   borrows what the body does not take: `&self`, references and `Copy` arguments always, and
///   on a sync function without `retry` an owned argument the body only reads. An argument the
///   body consumes is gone by then (the compiler says so); take it by reference instead. No
///   argument needs to be `Clone`. A method is given as a closure:
///   `fallback = |e| self.cached(e)`.
/// - `retry = N`: call the body again after a counted failure, up to `N` attempts in all,
///   waiting 100 ms, then 200 ms, ... (at most 10 s) between them. Each attempt goes through
///   the breaker; retrying stops at once when the circuit opens, and is limited to a share of
///   the circuit's calls (see `failfast::retry`). Without `threshold`, the circuit then opens
///   after `N` counted failures in a row, one call's attempts, rather than after the first.
///   Only the errors that count are retried: a 404 left out of `exceptions` is returned at
///   once. Each attempt gets its own copy of the arguments (`Clone`), so the body may consume
///   them; an async function retried may not take `&mut` arguments (each attempt's future
///   would need the same borrow: take `&self` and change state through a `Mutex`). On an
///   async function, waits are tokio sleeps: failfast's `tokio` feature is needed. A fallback
///   answers after the last attempt. Answers to retry (`when_ok`) and a dependency's hint of
///   when to come back (`hint`) are for the `failfast::retry::Retry` API.
/// - `retry(attempts = N, wait = ..., jitter, max_elapsed = "30s", wait_for_circuit = "10s")`:
///   the same, with `wait = fixed("2s")` or `wait = exponential(min = "2s", max = "10s")`
///   (optionally `multiplier = "1s"`, Tenacity's), `jitter` (full) or `jitter = "equal"`,
///   `"decorrelated"`, a time budget for all attempts, and how long to wait, at most, for an
///   open circuit to let calls through again. Durations are literals: `"250ms"`, `"3s"`,
///   `"1.5s"`, `"2m"`, `"1h"`. `before = <expr>` and `after = <expr>` run before and after
///   each attempt (Tenacity's `before=` and `after=`): any `Fn(u32, &failfast::Name)` and
///   `Fn(&failfast::retry::Attempt<T, E>)`, evaluated on every call;
///   `before = failfast::retry::log_before, after = failfast::retry::log_after` log them
///   with `tracing` (failfast's `tracing` feature).
/// - `call_timeout = "3s"` (async functions, with failfast's `tokio` feature): an attempt
///   that takes longer is dropped, counts as a failure, and returns
///   `Err(E::from(failfast::TimedOut))`, so the error type needs `From<failfast::TimedOut>`.
///   A time-out always counts against the circuit; like any other error, it is retried, and
///   reaches a fallback, when `exceptions` (or `when`) accepts it: list your time-out variant.
///   (Not `timeout`: in the Python decorator, `timeout` is how long the circuit stays open,
///   which is `secs` here.) Async retries wait on tokio's timer and never block the executor;
///   sync retries sleep the thread.
/// - `crate = <path>`: where to find the `failfast` crate if it was renamed.
///
/// ```
/// use std::time::Duration;
/// use failfast::{failfast, Breaker, MemoryStore};
///
/// #[derive(Debug)]
/// enum ApiError { Timeout, Status(u16), Open(failfast::Open) }
/// impl From<failfast::Open> for ApiError {
///     fn from(open: failfast::Open) -> Self { ApiError::Open(open) }
/// }
///
/// // Only timeouts and 5xx answers count against the circuit.
/// #[failfast("invoices", 30, exceptions = [ApiError::Timeout, ApiError::Status(code) if *code >= 500])]
/// fn invoices(status: u16) -> Result<u32, ApiError> {
///     Err(ApiError::Status(status))
/// }
/// assert!(matches!(invoices(404), Err(ApiError::Status(404))));
///
/// // The same with a predicate, three failures in a row, and a shared store.
/// fn is_outage(e: &ApiError) -> bool { matches!(e, ApiError::Timeout | ApiError::Status(500..)) }
/// static STORE: std::sync::LazyLock<MemoryStore> = std::sync::LazyLock::new(MemoryStore::new);
/// #[failfast(name = "customers", secs = 0.5, when = is_outage, threshold = 3, store = STORE.clone())]
/// fn customers() -> Result<u32, ApiError> { Ok(7) }
/// assert_eq!(customers().unwrap(), 7);
///
/// // A computed open period, switched off outside production.
/// #[failfast("orders", open_for = Duration::from_millis(1500), enabled = !cfg!(debug_assertions))]
/// fn orders() -> Result<u32, ApiError> { Ok(3) }
/// assert_eq!(orders().unwrap(), 3);
///
/// // A breaker configured elsewhere.
/// static PAYMENTS: std::sync::LazyLock<Breaker> =
///     std::sync::LazyLock::new(|| Breaker::new("payments", Duration::from_secs(10)));
/// #[failfast(breaker = PAYMENTS)]
/// fn charge() -> Result<u32, ApiError> { Ok(1) }
/// assert_eq!(charge().unwrap(), 1);
///
/// // A circuit per instance: each client has its own, as a field.
/// struct Hosts { breaker: Breaker }
/// impl Hosts {
///     #[failfast(breaker = self.breaker, exceptions = [ApiError::Timeout])]
///     fn ping(&self) -> Result<u32, ApiError> { Err(ApiError::Timeout) }
/// }
/// let (a, b) = (
///     Hosts { breaker: Breaker::new("hosts/a", Duration::from_secs(10)) },
///     Hosts { breaker: Breaker::new("hosts/b", Duration::from_secs(10)) },
/// );
/// assert!(matches!(a.ping(), Err(ApiError::Timeout)));
/// assert!(matches!(a.ping(), Err(ApiError::Open(_))), "a's circuit opened");
/// assert!(matches!(b.ping(), Err(ApiError::Timeout)), "b's did not");
///
/// // A fallback answers while the circuit is open, and for counted failures.
/// fn cached(_: failfast::Error<ApiError>) -> Result<u32, ApiError> { Ok(0) }
/// #[failfast("stock", 60, fallback = cached)]
/// fn stock() -> Result<u32, ApiError> { Err(ApiError::Timeout) }
/// assert_eq!(stock().unwrap(), 0);
///
/// // A fallback that needs the arguments: a closure.
/// struct Prices { last: std::collections::HashMap<String, u32> }
/// impl Prices {
///     #[failfast("prices", 60, fallback = |_| self.last.get(sku).copied().ok_or(ApiError::Timeout))]
///     fn price(&self, sku: &str) -> Result<u32, ApiError> { Err(ApiError::Timeout) }
/// }
/// let prices = Prices { last: [("pen".to_owned(), 3)].into() };
/// assert_eq!(prices.price("pen").unwrap(), 3);
///
/// // Python's exceptions=[IOError]: an error type, found in the error's source chain.
/// #[failfast("files", 60, exceptions = [std::io::Error])]
/// fn read() -> anyhow::Result<u32> { Err(anyhow::anyhow!("bad input")) }
/// assert!(read().unwrap_err().downcast_ref::<failfast::Open>().is_none());
///
/// // Retried: up to three attempts, 0 ms apart here; three failures in a row open the circuit.
/// #[failfast("quotes", 60, retry(attempts = 3, wait = fixed("0ms")))]
/// fn quote() -> Result<u32, ApiError> { Ok(5) }
/// assert_eq!(quote().unwrap(), 5);
///
/// // The failfast crate under another name.
/// mod deps { pub use failfast as ff; }
/// #[failfast("renamed", 60, crate = deps::ff)]
/// fn renamed() -> Result<u32, ApiError> { Ok(2) }
/// assert_eq!(renamed().unwrap(), 2);
/// ```
///
/// # Async
///
/// `async fn`s, functions returning `impl Future` whose body ends in an `async` block, and
/// `Box::pin(async move { .. })` bodies (what `#[async_trait]` writes) are guarded alike. The
/// permit is taken when the future is first polled, and a future dropped before it finishes
/// records nothing.
///
/// ```
/// use failfast::failfast;
///
/// #[failfast("profiles", 10)]
/// async fn profile(id: u32) -> anyhow::Result<String> {
///     Ok(format!("user {id}"))
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(profile(7).await.unwrap(), "user 7");
/// # }
/// ```
///
/// # Equivalent code without the macro
///
/// ```
/// use std::sync::OnceLock;
/// use std::time::Duration;
/// use failfast::{Breaker, Error, Registry};
///
/// # type ApiError = anyhow::Error;
/// # type Invoices = Vec<u32>;
/// # fn fetch() -> Result<Invoices, ApiError> { Ok(vec![]) }
/// // #[failfast("sales_api", 60)] fn get_invoices() -> Result<Invoices, ApiError> { fetch() }
/// fn get_invoices() -> Result<Invoices, ApiError> {
///     static BREAKER: OnceLock<Breaker> = OnceLock::new();
///     let breaker = BREAKER
///         .get_or_init(|| Registry::global().get_or_create("sales_api", Duration::from_secs(60)));
///     match breaker.call(|| fetch()) {
///         Ok(invoices) => Ok(invoices),
///         Err(Error::Inner(e)) => Err(e),
///         Err(Error::Open(open)) => Err(ApiError::from(open)),
///     }
/// }
/// # assert!(get_invoices().is_ok());
/// ```
///
/// # Mistakes
///
/// Every misuse is a compile error at the offending tokens: an unknown or repeated option, a
/// missing or empty name, a name that is not a string literal, `secs` that is not a positive
/// number, `exceptions` that is not a bracketed list of patterns, both `exceptions` and
/// `when`, `breaker` with options it overrides, a return type that is not `Result` without a
/// fallback, a `const` or `extern` function, a fallback of the wrong signature, `retry` with
/// no attempts or an unknown setting, a duration without a unit, an exponential wait whose
/// `max` is below its `min`, and `call_timeout` on a function that is not async. The
/// function is still emitted, so the rest of the crate keeps compiling.
#[proc_macro_attribute]
pub fn failfast(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let expanded = syn::parse::<parse::Args>(args).and_then(|args| {
        let function = syn::parse::<syn::ItemFn>(item).map_err(|e| {
            syn::Error::new(e.span(), "`#[failfast]` goes on a function with a body")
        })?;
        let plan = validate::plan(args, &function)?;
        Ok(expand::expand(plan, function))
    });
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(original);
            tokens.into()
        }
    }
}
